/**
 * Wall time of the contract suite in memory (AtomicQueuesTestingModule on a TestClock) vs on real Redis
 * (AtomicQueuesModule), as a ratio. Runs vitest programmatically (`startVitest` from 'vitest/node'), one run per
 * backend, each file alone, `--rounds` times (default 3); reports per run the tests' own time (sum of test
 * durations: what the backend costs) and the file time (import + collect + tests), and the median ratios.
 *
 *   npm run bench:contract [-- --rounds 5]
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

async function main(): Promise<void> {
  const rounds = intFlag(process.argv.slice(2), '--rounds', 3, 20);
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
  console.log(`  command    : npm run bench:contract -- --rounds ${rounds}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
