import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entityQueueName, entityWorkerName } from '../../src/config/keys.js';
import { ResourceLockService } from '../../src/locks/resource-lock.service.js';
import { getFreePort, startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { makeCore, uniquePrefix, waitFor, type Core } from '../core/support.js';

const CLI = 'dist/src/cli/main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI in a child process (REDIS_URL unset unless `env` sets it). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { REDIS_URL: _unset, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

// Each run starts a node process (a second or more on a loaded machine): generous timeouts.
describe('atomic-queues CLI (built, in a child process) after a real workload', { timeout: 180_000 }, () => {
  let server: RedisServerHandle;
  let core: Core;
  let conn: string[];
  const declined = { value: true };

  beforeAll(async () => {
    // `npm test` builds dist/ once before vitest starts.
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does) first`);
    server = await startRedisServer();
    const prefix = uniquePrefix('cli');
    core = makeCore({ redis: { url: server.url } }, prefix);
    conn = ['--redis-url', server.url, '--key-prefix', prefix];

    // order/o-1: a live worker; jobs that pass, pass on the second attempt, and fail twice for good.
    let flakyRuns = 0;
    await core.workers.createWorker({
      workerName: entityWorkerName('order', 'o-1'),
      queueName: entityQueueName('order', 'o-1'),
      entity: { entityType: 'order', entityId: 'o-1' },
      processor: async (job) => {
        if (job.name === 'flaky' && ++flakyRuns === 1) throw new Error('gateway timeout');
        if (job.name === 'charge' && declined.value) throw new Error('card declined');
        return 'ok';
      },
    });
    const retry = { attempts: 2, backoff: { type: 'fixed' as const, delay: 10 } };
    await core.queues.addEntityJob('order', 'o-1', 'reserve', {}, { jobId: 'j1' });
    await core.queues.addEntityJob('order', 'o-1', 'flaky', {}, { jobId: 'j2', ...retry });
    await core.queues.addEntityJob('order', 'o-1', 'charge', {}, { jobId: 'j3', ...retry });
    await core.queues.addEntityJob('order', 'o-1', 'ship', {}, { jobId: 'j4' });
    const queue = core.queues.getOrCreateEntityQueue('order', 'o-1');
    await waitFor(async () => {
      const c = await queue.getJobCounts('completed', 'failed');
      return c.completed === 3 && c.failed === 1;
    }, 15_000, 'o-1 to finish its jobs');
    await new ResourceLockService(core.redis, core.config).acquireLock('order', 'o-1', 'ops-1', 'operator', 60);

    // load/*: a backlog nobody serves, created in the order c, a, b (not alphabetical).
    for (const [id, n] of [['c', 2], ['a', 1], ['b', 3]] as const) {
      for (let i = 0; i < n; i += 1) await core.queues.addEntityJob('load', id, 'step', { i });
      await new Promise((r) => setTimeout(r, 5)); // distinct index times
    }
  }, 60_000);

  afterAll(async () => {
    await core?.close();
    await server?.stop();
  });

  it('inspect (text): counts, the worker and its node, heartbeat TTL, lock and token, jobs with attempts and errors', async () => {
    const r = await cli(['inspect', 'order', 'o-1', ...conn]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('entity   order/o-1  (queue order-o-1-queue');
    expect(r.stdout).toMatch(/queue +waiting 0 {2}prioritized 0 {2}delayed 0 {2}active 0 {2}completed 3 {2}failed 1/);
    expect(r.stdout).toMatch(new RegExp(`order-o-1-worker, alive, state running, node ${core.config.nodeId}, heartbeat ttl \\d+ms`));
    expect(r.stdout).toMatch(/lock +held by ops-1 \(operator\), fencing token 1, expires in \d+\.\ds; latest token 1/);
    const jobLines = r.stdout.split('\n').filter((l) => /^ {2}j\d /.test(l));
    expect(jobLines.map((l) => l.trim().split(/\s+/).slice(0, 4))).toEqual([
      ['j1', 'reserve', 'completed', '1/1'],
      ['j2', 'flaky', 'completed', '2/2'],
      ['j3', 'charge', 'failed', '2/2'],
      ['j4', 'ship', 'completed', '1/1'],
    ]);
    expect(jobLines[1]).toContain('#1 gateway timeout');
    expect(jobLines[2]).toContain('#1 card declined | #2 card declined');
  });

  it('inspect --json: the same facts as data; --jobs limits to the newest jobs', async () => {
    const r = await cli(['inspect', 'order', 'o-1', ...conn, '--json', '--jobs', '2']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.stdout);
    expect(x).toMatchObject({ entityType: 'order', entityId: 'o-1', queueName: 'order-o-1-queue', indexed: true, pendingJobs: 0, paused: false });
    expect(x.counts).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 0, completed: 3, failed: 1 });
    expect(x.workers).toHaveLength(1);
    expect(x.workers[0]).toMatchObject({ workerName: 'order-o-1-worker', state: 'running', alive: true, nodeId: core.config.nodeId });
    expect(x.workers[0].heartbeatTtlMs).toBeGreaterThan(0);
    expect(x.workers[0].heartbeatTtlMs).toBeLessThanOrEqual(1000); // FAST_WORKERS: heartbeatTTL 1 s
    expect(x.lock).toMatchObject({ held: true, ownerId: 'ops-1', ownerType: 'operator', fencingToken: 1, latestFencingToken: 1 });
    expect(x.jobs.map((j: { id: string }) => j.id)).toEqual(['j3', 'j4']);
    expect(x.jobs[0]).toMatchObject({ state: 'failed', attempts: 2, maxAttempts: 2, errors: ['card declined', 'card declined'] });
  });

  it('entities: the backlog by entity, the one waiting longest first (text and --json); REDIS_URL is the default URL', async () => {
    const j = await cli(['entities', 'load', '--key-prefix', conn[3]!, '--json'], { REDIS_URL: server.url });
    expect(j.code).toBe(0);
    const report = JSON.parse(j.stdout);
    expect(report.total).toBe(3);
    expect(report.entities.map((e: { entityId: string; pending: number }) => [e.entityId, e.pending])).toEqual([['c', 2], ['a', 1], ['b', 3]]);
    const t = await cli(['entities', 'load', ...conn, '--limit', '2']);
    expect(t.code).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toBe(`3 load entities have a backlog; the 2 waiting longest, oldest first (key prefix ${conn[3]})`);
    expect(lines.slice(2).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([['c', '2'], ['a', '1']]);
  });

  it('retry-failed moves the failed job back, the entity is signalled ready and its worker runs it', async () => {
    declined.value = false;
    const r = await cli(['retry-failed', 'order', 'o-1', ...conn]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('retried 1 failed job of order/o-1 (in this order): j3');
    const queue = core.queues.getOrCreateEntityQueue('order', 'o-1');
    await waitFor(async () => (await queue.getJobCounts('completed')).completed === 4, 15_000, 'the retried job to complete');
    const after = JSON.parse((await cli(['inspect', 'order', 'o-1', ...conn, '--json'])).stdout);
    expect(after.counts.failed).toBe(0);
    expect(after.jobs.find((j: { id: string }) => j.id === 'j3')).toMatchObject({
      state: 'completed',
      attempts: 1,
      retried: 1,
      errors: ['card declined', 'card declined'], // the in-place failure and the final one; none since the retry
    });
    const again = await cli(['retry-failed', 'order', 'o-1', ...conn, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ retried: [], skipped: [] });
  });

  it('bad arguments: a clear message naming what is wrong, exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['inspect', 'order', ...conn], /missing required argument 'id'/],
      [['inspect', 'or:der', 'x', ...conn], /entityType/],
      [['inspect', 'order', 'o-1', ...conn, '--jobs', 'many'], /--jobs must be an integer in \[0, 1000\] \(got "many"\)/],
      [['entities', 'load', '--key-prefix', 'a:b'], /--key-prefix must be 1-64 characters without ':'/],
      [['entities', 'load', '--redis-url', 'http://localhost:6379'], /--redis-url must start with 'redis:\/\/' or 'rediss:\/\/'/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [[], /Usage: atomic-queues/],
    ];
    const runs: Run[] = [];
    for (let i = 0; i < cases.length; i += 3) runs.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => cli(args)))));
    for (const [i, [args, message]] of cases.entries()) {
      const r = runs[i]!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });

  it('unknown entity or type: exit code 3; Redis unreachable: exit code 1; --help: exit code 0', async () => {
    const missing = await cli(['inspect', 'order', 'nope', ...conn]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(`entity order/nope not found under key prefix '${conn[3]}'`);
    const noType = await cli(['entities', 'invoice', ...conn]);
    expect(noType.code).toBe(3);
    expect(noType.stderr).toContain('known types: load, order');
    const port = await getFreePort();
    const down = await cli(['entities', 'load', '--redis-url', `redis://127.0.0.1:${port}`, '--timeout', '500']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`error: cannot reach Redis at 127.0.0.1:${port}`);
    const help = await cli(['inspect', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--key-prefix <prefix>');
  });

  it('package.json "bin" runs it: `npx atomic-queues` is the built ESM file with a shebang', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string> };
    expect(pkg.bin).toEqual({ 'atomic-queues': `./${CLI}` });
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const r = await cli(['--version']);
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});
