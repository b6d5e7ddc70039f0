/**
 * Wall time of the contract suite in memory (AtomicQueuesTestingModule on a TestClock) vs on real Redis
 * (AtomicQueuesModule), as a ratio. Runs vitest programmatically (`startVitest` from 'vitest/node'), one run per
 * backend, each file alone, `--rounds` times (default 3); reports per run the tests' own time (sum of test
 * durations: what the backend costs) and the file time (import + collect + tests), and the median ratios.
 *
 * Then the backend-conformance suite (test/conformance: every test runs once on real Redis and once on the
 * in-memory BullMQ backend, same assertions): one vitest run per round, the tests' own time summed per backend
 * (the `[redis]` and `[memory]` describe blocks), and the median ratio.
 *
 *   npm run bench:contract [-- --rounds 5] [--only contract|conformance]
 *   (= npm run build && node dist/bench/contract/contract-bench.js)
 *
 * Uses REDIS_URL when set, else the private redis-server the vitest global setup starts.
 */
import { startVitest } from 'vitest/node';
import { median } from '../../toolkit/report/stats.js';
import { intFlag } from '../common.js';

const FILES = {
  memory: 'test/contract/memory.contract.test.ts',
  redis: 'test/contract/redis.contract.test.ts',
} as const;
type Backend = keyof typeof FILES;

interface RunTimes {
  /** Sum of the durations of the file's tests, ms. */
  tests: number;
  /** The file's whole duration (import, collect, hooks, tests), ms. */
  file: number;
  passed: number;
  failed: number;
}

type TaskLike = { type: string; mode?: string; tasks?: TaskLike[]; result?: { state?: string; duration?: number } };

function collectTests(task: TaskLike, out: TaskLike[] = []): TaskLike[] {
  if (task.type === 'test') out.push(task);
  for (const child of task.tasks ?? []) collectTests(child, out);
  return out;
}

const CONFORMANCE_DIR = 'test/conformance';

/** One run of the whole conformance suite: the tests' own time (ms) and counts under `[redis]` and `[memory]`. */
async function runConformanceOnce(): Promise<Record<Backend, RunTimes>> {
  const vitest = await startVitest('test', [CONFORMANCE_DIR], { run: true, watch: false, reporters: ['dot'] });
  try {
    const files = vitest.state.getFiles() as unknown as (TaskLike & { name?: string })[];
    if (files.length === 0) throw new Error(`vitest found no test files under ${CONFORMANCE_DIR}`);
    const out: Record<Backend, RunTimes> = { redis: { tests: 0, file: 0, passed: 0, failed: 0 }, memory: { tests: 0, file: 0, passed: 0, failed: 0 } };
    const walk = (task: TaskLike & { name?: string }, kind: Backend | undefined) => {
      const name = task.name ?? '';
      const here: Backend | undefined = name.endsWith('[redis]') ? 'redis' : name.endsWith('[memory]') ? 'memory' : kind;
      if (task.type === 'test' && here) {
        const r = out[here];
        if (task.result?.state === 'pass') r.passed++;
        if (task.result?.state === 'fail') r.failed++;
        r.tests += task.result?.duration ?? 0;
      }
      for (const child of task.tasks ?? []) walk(child, here);
    };
    for (const file of files) walk(file, undefined);
    for (const r of Object.values(out)) r.tests = Math.round(r.tests);
    return out;
  } finally {
    await vitest.close();
  }
}

async function runOnce(backend: Backend): Promise<RunTimes> {
  const vitest = await startVitest('test', [FILES[backend]], { run: true, watch: false, reporters: ['dot'] });
  try {
    const files = vitest.state.getFiles() as unknown as (TaskLike & { collectDuration?: number; setupDuration?: number; prepareDuration?: number; environmentLoad?: number })[];
    if (files.length !== 1) throw new Error(`expected 1 test file for ${FILES[backend]}, vitest ran ${files.length}`);
    const file = files[0]!;
    const tests = collectTests(file);
    const passed = tests.filter((t) => t.result?.state === 'pass').length;
    const failed = tests.filter((t) => t.result?.state === 'fail').length;
    const testMs = tests.reduce((sum, t) => sum + (t.result?.duration ?? 0), 0);
    const fileMs = (file.collectDuration ?? 0) + (file.setupDuration ?? 0) + (file.prepareDuration ?? 0) + (file.result?.duration ?? 0);
    return { tests: Math.round(testMs), file: Math.round(fileMs), passed, failed };
  } finally {
    await vitest.close();
  }
}

const SUITES = ['contract', 'conformance'] as const;

/** `--only contract|conformance` runs one of the two suites; default both. */
function suitesToRun(argv: readonly string[]): readonly (typeof SUITES)[number][] {
  const i = argv.indexOf('--only');
  if (i < 0) return SUITES;
  const value = argv[i + 1];
  const suite = SUITES.find((s) => s === value);
  if (!suite) throw new Error(`--only "${value}" is invalid; accepted values: ${SUITES.join(', ')}`);
  return [suite];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = intFlag(argv, '--rounds', 3, 20);
  const suites = suitesToRun(argv);
  if (suites.includes('contract')) await benchContract(rounds);
  if (suites.includes('conformance')) await benchConformance(rounds);
}

async function benchContract(rounds: number): Promise<void> {
  const results: Record<Backend, RunTimes[]> = { memory: [], redis: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const backend of ['redis', 'memory'] as const) {
      const r = await runOnce(backend);
      if (r.failed > 0 || r.passed === 0) throw new Error(`${FILES[backend]}: ${r.failed} failed, ${r.passed} passed — fix the suite before benchmarking`);
      results[backend].push(r);
      console.log(`round ${round} ${backend.padEnd(6)} tests ${String(r.tests).padStart(6)} ms  file ${String(r.file).padStart(6)} ms  (${r.passed} tests)`);
    }
  }
  const m = (b: Backend, k: 'tests' | 'file') => median(results[b].map((r) => r[k]));
  const testsRatio = m('redis', 'tests') / m('memory', 'tests');
  const fileRatio = m('redis', 'file') / m('memory', 'file');
  console.log('');
  console.log(`contract suite, median of ${rounds} round(s), via vitest/node startVitest (one file per run):`);
  console.log(`  tests only : real Redis ${m('redis', 'tests')} ms / in memory ${m('memory', 'tests')} ms = ${testsRatio.toFixed(1)}x (goal >= 20x)`);
  console.log(`  whole file : real Redis ${m('redis', 'file')} ms / in memory ${m('memory', 'file')} ms = ${fileRatio.toFixed(1)}x`);
  console.log(`  command    : npm run bench:contract -- --rounds ${rounds} --only contract`);
}

async function benchConformance(rounds: number): Promise<void> {
  const conformance: Record<Backend, RunTimes[]> = { memory: [], redis: [] };
  for (let round = 1; round <= rounds; round++) {
    const r = await runConformanceOnce();
    for (const backend of ['redis', 'memory'] as const) {
      const t = r[backend];
      if (t.failed > 0 || t.passed === 0) throw new Error(`${CONFORMANCE_DIR} [${backend}]: ${t.failed} failed, ${t.passed} passed — fix the suite before benchmarking`);
      conformance[backend].push(t);
    }
    console.log(`conformance round ${round}: redis tests ${String(r.redis.tests).padStart(6)} ms  memory tests ${String(r.memory.tests).padStart(6)} ms  (${r.redis.passed} + ${r.memory.passed} tests)`);
  }
  const c = (b: Backend) => median(conformance[b].map((r) => r.tests));
  console.log('');
  console.log(`conformance suite (${CONFORMANCE_DIR}), median of ${rounds} round(s), tests' own time:`);
  console.log(`  real Redis ${c('redis')} ms / in memory ${c('memory')} ms = ${(c('redis') / c('memory')).toFixed(1)}x (goal >= 20x)`);
  console.log(`  command    : npm run bench:contract -- --rounds ${rounds} --only conformance`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
