import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForValue } from '../support/wait.js';
import { scanKeys, uniquePrefix } from './support.js';

const FIXTURE = 'dist/test/core/fixtures/sigterm-app.js';

describe('compiled module in a plain node process', () => {
  beforeAll(() => {
    // `npm test` builds dist/ once before vitest starts; rebuilding here would race other suites' child processes.
    if (!existsSync(FIXTURE)) throw new Error(`${FIXTURE} is missing: run \`npm run build\` (npm test does) first`);
  });

  it('SIGTERM lets the in-flight job finish, releases the heartbeat and exits; the next job stays queued', async () => {
    const url = inject('redisUrl');
    const prefix = uniquePrefix('sig');
    const redis = new Redis(url);
    const queue = new Queue('order-o1-queue', { connection: redis, prefix });
    try {
      await queue.add('a', {}, { jobId: 'a' });
      await queue.add('b', {}, { jobId: 'b' });
      const child = spawn(process.execPath, [FIXTURE, url, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
      await waitForValue('job a to start', async () => out, (o) => o.includes('started a'), 15_000);
      child.kill('SIGTERM');
      // Nest closes the app, then re-raises the signal: the process ends by SIGTERM after a full cleanup.
      expect(await exited).toEqual([null, 'SIGTERM']);
      // 'ready' comes once createWorker resolved, which may be after job a started: only the job lines are ordered
      const lines = out.trim().split('\n');
      expect(lines).toContain('ready');
      const after = lines.slice(lines.indexOf('started a')).filter((line) => line !== 'ready');
      expect(after).toEqual(['started a', 'done a', 'closed']);
      expect(await queue.getJobCounts('completed', 'waiting', 'active')).toEqual({ completed: 1, waiting: 1, active: 0 });
      expect(await scanKeys(redis, `${prefix}:workers:*`)).toEqual([]);
    } finally {
      await queue.close();
      const left = await scanKeys(redis, `${prefix}:*`);
      if (left.length) await redis.del(...left);
      redis.disconnect();
    }
  });
});
