import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BENCH = 'dist/bench/bench.js';

/**
 * `npm run bench` is a script, never a timed test: this only runs its quick sizes once and checks that it completes
 * and writes the documented shape of load/results/bench.json (no figure is compared with anything).
 */
describe('npm run bench (quick, one round)', () => {
  it('measures P1–P4 side by side and writes the documented bench.json', async () => {
    if (!existsSync(BENCH)) throw new Error(`${BENCH} is missing: run \`npm run build\` (npm test does) first`);
    const dir = mkdtempSync(join(tmpdir(), 'aq-bench-'));
    try {
      const out = join(dir, 'bench.json');
      const run = await promisify(execFile)(process.execPath, [BENCH, '--quick', '--rounds', '1', '--out', out], { timeout: 120_000 });
      expect(run.stdout).toContain('per-entity FIFO in P2: kept');
      const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
      const positive = expect.any(Number) as unknown;
      expect(json).toMatchObject({
        p1: { ratio: positive, module: { jobs: 2000 }, raw: { jobs: 2000 } },
        p2: { ratio: positive, entities: 200, moduleVsNaive: positive, moduleFifoOk: true, naive: { fifoOk: true, ratio: positive } },
        p3: { connections: positive },
        p4: { p50Ms: positive, p99Ms: positive, explicit: { p50Ms: positive, p99Ms: positive } },
      });
      for (const value of [json.p1!.ratio, json.p2!.ratio, json.p2!.moduleVsNaive, json.p4!.p50Ms]) expect(value).toBeGreaterThan(0);
      // At most one blocking connection per entity worker plus the node's few shared ones (no leak). How many are
      // open at once depends on timing: the cron retires the workers of entities that finished while others start.
      expect(json.p3!.connections).toBeGreaterThan(0);
      expect(json.p3!.connections).toBeLessThanOrEqual(200 + 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('rejects a bad option with a message naming it', async () => {
    const run = await promisify(execFile)(process.execPath, [BENCH, '--rounds', '0']).then(
      () => ({ code: 0, err: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, err: error.stderr }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain('--rounds must be an integer from 1 to 20, got "0"');
  });
});
