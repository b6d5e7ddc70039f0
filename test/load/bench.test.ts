import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobExecution } from '@nestjs/atomic-queues/testing';
import { describe, expect, it } from 'vitest';
import { nodeShares, resumeAfterKill } from '../../bench/cluster-bench.js';
import { benchOptions } from '../../bench/options.js';

const BENCH = 'dist/bench/bench.js';

/**
 * `npm run bench` is a script, never a timed test: this only runs its quick sizes once and checks that it completes
 * and writes the documented shape of load/results/bench.json (no figure is compared with anything).
 */
describe('npm run bench (quick, one round)', () => {
  it('measures P1–P4 for the module, raw BullMQ and groupmq side by side and writes the documented bench.json', async () => {
    if (!existsSync(BENCH)) throw new Error(`${BENCH} is missing: run \`npm run build\` (npm test does) first`);
    const dir = mkdtempSync(join(tmpdir(), 'aq-bench-'));
    try {
      const out = join(dir, 'bench.json');
      const run = await promisify(execFile)(process.execPath, [BENCH, '--quick', '--rounds', '1', '--out', out], { timeout: 120_000 });
      expect(run.stdout).toContain('per-entity FIFO in P2: kept');
      expect(run.stdout).toContain('groupmq FIFO violations: 0');
      const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Record<string, unknown>>;
      const positive = expect.any(Number) as unknown;
      expect(json).toMatchObject({
        parts: ['p1', 'p2', 'p3', 'p4'],
        p1: { ratio: positive, module: { jobs: 2000 }, raw: { jobs: 2000 }, groupmq: { jobs: 2000, ratioVsRaw: positive }, moduleVsGroupmq: positive, groupmqFifoViolations: 0 },
        p2: {
          ratio: positive,
          entities: 200,
          moduleVsNaive: positive,
          moduleFifoOk: true,
          naive: { fifoOk: true, ratio: positive },
          groupmq: { jobs: 2000, concurrency: 50, ratioVsRaw: positive },
          moduleVsGroupmq: positive,
          groupmqFifoViolations: 0,
        },
        p3: { connections: positive, rawConnections: positive, groupmqConnections: positive },
        p4: { p50Ms: positive, p99Ms: positive, explicit: { p50Ms: positive, p99Ms: positive }, raw: { p99Ms: positive }, groupmq: { p99Ms: positive } },
      });
      expect(json).not.toHaveProperty('p5');
      for (const value of [json.p1!.ratio, json.p2!.ratio, json.p2!.moduleVsNaive, json.p2!.moduleVsGroupmq, json.p4!.p50Ms]) expect(value).toBeGreaterThan(0);
      // groupmq holds a command and a blocking connection, whatever the group count
      expect(json.p3!.groupmqConnections).toBeLessThanOrEqual(4);
      // At most one blocking connection per entity worker plus the node's few shared ones (no leak). How many are
      // open at once depends on timing: the cron retires the workers of entities that finished while others start.
      expect(json.p3!.connections).toBeGreaterThan(0);
      expect(json.p3!.connections).toBeLessThanOrEqual(200 + 8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('runs only the flagged parts (--only p6,p8, quick sizes) and writes their figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aq-bench-'));
    try {
      const out = join(dir, 'bench.json');
      const run = await promisify(execFile)(process.execPath, [BENCH, '--quick', '--only', 'p6,p8', '--p6-entities', '100', '--out', out], { timeout: 60_000 });
      expect(run.stdout).toContain('P8 fairness');
      const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
      const positive = expect.any(Number) as unknown;
      expect(json).toMatchObject({
        parts: ['p6', 'p8'],
        p6: { entities: 100, completed: true, module: { jobs: 200, fifoOk: true, connections: positive }, groupmq: { jobs: 200, fifoViolations: 0 } },
        p8: {
          coldEntities: 100,
          targetP99Ms: 100,
          cron: { p99Ms: positive, distribution: { count: 300 } },
          explicit: { p99Ms: positive, distribution: { count: 300 } },
          groupmq: { p99Ms: positive, distribution: { count: 300 } },
        },
      });
      for (const part of ['p1', 'p2', 'p3', 'p4', 'p5', 'p7']) expect(json).not.toHaveProperty(part);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('rejects a bad option with exit code 1 and a message naming it', async () => {
    const run = await promisify(execFile)(process.execPath, [BENCH, '--rounds', '0']).then(
      () => ({ code: 0, err: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, err: error.stderr }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toContain('--rounds must be an integer from 1 to 20, got "0"');
  });
});

describe('bench options', () => {
  it('runs p1–p4 by default; --with adds parts, --only replaces them, P3 brings P2 along', () => {
    expect([...benchOptions([]).parts].sort()).toEqual(['p1', 'p2', 'p3', 'p4']);
    expect([...benchOptions(['--with', 'p5,P8']).parts].sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p8']);
    expect([...benchOptions(['--only', 'p6']).parts]).toEqual(['p6']);
    expect([...benchOptions(['--only', 'p3']).parts].sort()).toEqual(['p2', 'p3']);
    expect(benchOptions(['--p6-entities', '500']).p6Entities).toBe(500);
    expect(benchOptions(['--p2-entities', '100']).p2Entities).toBe(100);
  });

  it.each([
    [['--only', 'p5,p9'], '--only takes a comma-separated list of p1, p2, p3, p4, p5, p6, p7, p8, got "p5,p9"'],
    [['--with', ''], '--with takes a comma-separated list of p1, p2, p3, p4, p5, p6, p7, p8, got ""'],
    [['--only', 'p5', '--with', 'p6'], '--only and --with exclude each other'],
    [['--p6-entities', '0'], '--p6-entities must be an integer from 1 to 50000, got "0"'],
    [['--p2-entities', '1.5'], '--p2-entities must be an integer from 1 to 20000 (P2 keeps its job total and spreads it over that many entities), got "1.5"'],
    [['--heartbeat-ttl', '1'], '--heartbeat-ttl must be an integer >= 2 (seconds), got "1"'],
  ])('rejects %j with a message naming the option', (args, message) => {
    expect(() => benchOptions(args)).toThrow(message);
  });
});

describe('bench P5/P7 figures from the nodes\' histories', () => {
  const exec = (node: string, entityId: string, start: number, outcome: JobExecution['outcome'] = 'completed'): JobExecution => ({
    entityType: 'order',
    entityId,
    queue: `order-${entityId}-queue`,
    jobId: `${entityId}.${start}`,
    jobName: 'work',
    worker: `order-${entityId}-worker`,
    node,
    attempt: 1,
    start,
    ...(outcome === 'crashed' ? {} : { end: start + 5 }),
    outcome,
  });

  it('P5: time from the kill to the next start of each entity the killed node was serving, and only those', () => {
    const history = [
      exec('node-1', 'a', 900, 'crashed'), // a: served by node-1 at the kill, resumes on node-2 at 3400
      exec('node-2', 'a', 3400),
      exec('node-2', 'a', 3500),
      exec('node-1', 'b', 500), // b: moved to node-3 before the kill: not the victim's
      exec('node-3', 'b', 800),
      exec('node-3', 'b', 1500),
      exec('node-1', 'c', 950), // c: the victim's, no work left afterwards: not counted
      exec('node-1', 'd', 990), // d: the victim's, resumes at 2100
      exec('node-3', 'd', 2100),
    ];
    expect(resumeAfterKill(history, 1000, 'node-1').sort((x, y) => x - y)).toEqual([1100, 2400]);
  });

  it('P7: share of the entities and of the completed jobs per node (an entity moved between nodes counts for both)', () => {
    const history = [exec('node-1', 'a', 1), exec('node-1', 'a', 2), exec('node-2', 'a', 3), exec('node-2', 'b', 4), exec('node-1', 'c', 5, 'crashed')];
    expect(nodeShares(history, ['node-1', 'node-2', 'node-3'], 4)).toEqual({
      'node-1': { entities: 1, jobs: 2, entityShare: 0.25, jobShare: 0.5 },
      'node-2': { entities: 2, jobs: 2, entityShare: 0.5, jobShare: 0.5 },
      'node-3': { entities: 0, jobs: 0, entityShare: 0, jobShare: 0 },
    });
  });
});
