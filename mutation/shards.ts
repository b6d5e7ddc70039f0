/**
 * The mutation run in shards (issue 10). One Stryker run over all of `src/` and `testing/backend/` (7,864 mutants)
 * takes longer than a session on this 2-core machine; run as shards it can be taken a shard at a time, resumed
 * (Stryker's incremental mode, one file per shard) and summed (`npm run mutation:shards -- --summary`).
 *
 * Every mutable file belongs to exactly one shard (test/mutation/shards.test.ts checks it). A shard runs only the
 * tests listed with it, the tests written for that code: a mutant that only some other test file would kill
 * counts as survived, so a shard's score is a lower bound of the whole suite's.
 */
export interface MutationShard {
  readonly name: string;
  /** Files, or folders ending in `/` (every `.ts` under them). */
  readonly mutate: readonly string[];
  /** Test files, or folders ending in `/` (every `.test.ts` under them). */
  readonly tests: readonly string[];
}

/** Where the mutable code lives, and what is not mutated there (a Lua script in a string: mutating it swaps it for ""). */
export const MUTABLE_ROOTS = ['src/', 'testing/backend/'] as const;
export const isMutable = (file: string): boolean =>
  file.endsWith('.ts') && !file.endsWith('.lua.ts') && !file.endsWith('.d.ts') && MUTABLE_ROOTS.some((root) => file.startsWith(root));

const BACKEND_TESTS = ['test/testing-backend/', 'test/conformance/'];

export const SHARDS: readonly MutationShard[] = [
  {
    name: 'backend-store',
    mutate: [
      'testing/backend/in-memory-backend.ts',
      'testing/backend/in-memory-store.ts',
      'testing/backend/in-memory-queue-driver.ts',
      'testing/backend/create-in-memory-backend.ts',
      'testing/backend/round-trip.ts',
      'testing/backend/client-list.ts',
      'testing/backend/stalled-check.ts',
      'testing/backend/clean-grace.ts',
      'testing/backend/errors.ts',
      'testing/backend/index.ts',
      'testing/backend/sorted-set.ts',
      'testing/backend/metrics.ts',
    ],
    tests: BACKEND_TESTS,
  },
  { name: 'backend-queue-state', mutate: ['testing/backend/queue-state.ts'], tests: BACKEND_TESTS },
  {
    name: 'backend-features',
    mutate: ['testing/backend/flows.ts', 'testing/backend/schedulers.ts', 'testing/backend/deduplication.ts', 'testing/backend/rate-limit.ts'],
    tests: BACKEND_TESTS,
  },
  {
    name: 'config',
    mutate: ['src/config/', 'src/validation.ts', 'src/errors.ts', 'src/peer-dependency.ts'],
    tests: [
      'test/core/config.test.ts',
      'test/core/validation.test.ts',
      'test/core/job-options.test.ts',
      'test/core/add-job-options.test.ts',
      'test/config/',
    ],
  },
  {
    name: 'workers',
    mutate: ['src/workers/'],
    tests: ['test/core/worker-manager.test.ts', 'test/core/node-heartbeat.test.ts', 'test/core/create-worker-arguments.test.ts', 'test/engine/'],
  },
  { name: 'engine', mutate: ['src/engine/'], tests: ['test/engine/', 'test/core/worker-manager.test.ts'] },
  {
    name: 'index',
    mutate: ['src/index/'],
    tests: [
      'test/core/index-manager.test.ts',
      'test/core/index-sweeper.test.ts',
      'test/core/index-entity-queue-name.test.ts',
      'test/core/entity-queue-setup.test.ts',
      'test/testing-module/index-sweeper.test.ts',
    ],
  },
  {
    name: 'module',
    mutate: ['src/queues/', 'src/module/', 'src/registry/', 'src/shutdown/', 'src/index.ts'],
    tests: [
      'test/core/queue-manager.test.ts',
      'test/core/module.test.ts',
      'test/core/registry.test.ts',
      'test/core/event-stream-trim.test.ts',
      'test/config/module-async.test.ts',
      'test/testing-module/get-processor.test.ts',
    ],
  },
  {
    name: 'drivers',
    mutate: ['src/drivers/', 'src/redis/', 'src/ports/', 'src/timing/'],
    tests: [
      'test/core/redis-watch.test.ts',
      'test/core/coalesce-writes.test.ts',
      'test/core/queue-driver-close.test.ts',
      'test/core/redis-down.test.ts',
      'test/core/lua-on-ioredis-mock.test.ts',
      'test/config/redis-options.test.ts',
      'test/config/redis-server-options.test.ts',
    ],
  },
  { name: 'cron', mutate: ['src/cron/'], tests: ['test/cron/'] },
  { name: 'locks', mutate: ['src/locks/'], tests: ['test/locks/'] },
  { name: 'cli', mutate: ['src/cli/'], tests: ['test/cli/'] },
  { name: 'health', mutate: ['src/health/'], tests: ['test/health/'] },
  { name: 'telemetry', mutate: ['src/telemetry/'], tests: ['test/telemetry/'] },
];

const covers = (entry: string, file: string) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry);

/** The shard a mutable file belongs to (every one that lists it: exactly one when the table is right). */
export const shardsOf = (file: string, shards: readonly MutationShard[] = SHARDS): MutationShard[] =>
  shards.filter((s) => s.mutate.some((entry) => covers(entry, file)));

/** A shard's `--mutate` globs for Stryker: its files, Lua scripts left out. */
export const mutateGlobs = (shard: MutationShard): string[] =>
  shard.mutate.flatMap((entry) => (entry.endsWith('/') ? [`${entry}**/*.ts`, `!${entry}**/*.lua.ts`] : [entry]));

/** A shard's `--testFiles` globs. */
export const testGlobs = (shard: MutationShard): string[] =>
  shard.tests.map((entry) => (entry.endsWith('/') ? `${entry}**/*.test.ts` : entry));

/** A test file a shard runs. */
export const runsTest = (shard: MutationShard, file: string): boolean =>
  file.endsWith('.test.ts') && shard.tests.some((entry) => covers(entry, file));

export function shardNamed(name: string, shards: readonly MutationShard[] = SHARDS): MutationShard {
  const shard = shards.find((s) => s.name === name);
  if (!shard) throw new Error(`unknown mutation shard "${name}"; the shards are: ${shards.map((s) => s.name).join(', ')}`);
  return shard;
}
