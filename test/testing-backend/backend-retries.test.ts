import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

/** Queue `name` with a worker that records every attempt as `name#attempt@ms-since-start`, then runs `body`. */
function recordedQueue(world: World, name: string, body: (job: Job) => unknown) {
  const start = world.clock.now();
  const log: string[] = [];
  const q = world.queue(name);
  const worker = world.worker(name, async (job) => {
    log.push(`${job.name}#${job.attemptsMade + 1}@${world.clock.now() - start}`);
    return body(job);
  });
  return { q, worker, log };
}

describe('in-memory backend: attempts, backoff, retention', () => {
  it('retries with a fixed backoff exactly on the clock', async () => {
    w = createWorld();
    const { q, log } = recordedQueue(w, 'fixed', (job) => {
      if (job.attemptsMade < 2) throw new Error(`fail ${job.attemptsMade}`);
      return 'ok';
    });
    const job = await q.add('j', {}, { attempts: 3, backoff: { type: 'fixed', delay: 1000 } });
    await w.clock.advance(999);
    expect(log).toEqual(['j#1@0']);
    expect(await q.getJobState(job.id!)).toBe('delayed');
    await w.clock.advance(1);
    expect(log).toEqual(['j#1@0', 'j#2@1000']);
    await w.clock.runForegroundTimers();
    expect(log).toEqual(['j#1@0', 'j#2@1000', 'j#3@2000']);
    const done = await q.getJob(job.id!);
    expect(done?.attemptsMade).toBe(3);
    expect(await done?.getState()).toBe('completed');
  });

  it('retries with an exponential backoff (delay * 2^(n-1)) and fails after the last attempt', async () => {
    w = createWorld();
    const { q, worker, log } = recordedQueue(w, 'expo', () => {
      throw new Error('always');
    });
    const failed: string[] = [];
    worker.on('failed', (job, err) => failed.push(`${job?.attemptsMade}:${err.message}`));
    const job = await q.add('e', {}, { attempts: 4, backoff: { type: 'exponential', delay: 100 } });
    await w.clock.runForegroundTimers();
    expect(log).toEqual(['e#1@0', 'e#2@100', 'e#3@300', 'e#4@700']);
    expect(failed).toEqual(['1:always', '2:always', '3:always', '4:always']);
    const stored = await q.getJob(job.id!);
    expect(await stored?.getState()).toBe('failed');
    expect(stored?.failedReason).toBe('always');
    expect(stored?.stacktrace?.length).toBe(4);
    expect(await q.getFailedCount()).toBe(1);
  });

  it('an immediate retry (no backoff) goes behind the jobs already waiting, like the Redis retryJob script', async () => {
    w = createWorld();
    const { q, log } = recordedQueue(w, 'immediate', (job) => {
      if (job.name === 'a' && job.attemptsMade === 0) throw new Error('once');
    });
    await q.addBulk([
      { name: 'a', data: {}, opts: { attempts: 2 } },
      { name: 'b', data: {} },
      { name: 'c', data: {} },
    ]);
    await w.clock.runForegroundTimers();
    expect(log).toEqual(['a#1@0', 'b#1@0', 'c#1@0', 'a#2@0']);
  });

  it('removeOnComplete / removeOnFail: true, false, number and {count, age}', async () => {
    w = createWorld();
    const q = w.queue('retention');
    w.worker('retention', async (job) => {
      if (job.data.fail) throw new Error('x');
    });
    const removed = await q.add('rm-true', {}, { removeOnComplete: true });
    const kept = await q.add('rm-false', {}, { removeOnComplete: false });
    await w.clock.runForegroundTimers();
    expect(await q.getJob(removed.id!)).toBeUndefined();
    expect(await q.getJob(kept.id!)).toBeDefined();

    for (let i = 0; i < 4; i++) await q.add(`count-${i}`, {}, { removeOnComplete: 2 });
    await w.clock.runForegroundTimers();
    expect((await q.getCompleted()).map((j) => j.name)).toEqual(['count-3', 'count-2']);

    const failRemoved = await q.add('fail-true', { fail: true }, { removeOnFail: true });
    for (let i = 0; i < 3; i++) await q.add(`fail-${i}`, { fail: true }, { removeOnFail: { count: 2 } });
    await w.clock.runForegroundTimers();
    expect(await q.getJob(failRemoved.id!)).toBeUndefined();
    expect((await q.getFailed()).map((j) => j.name)).toEqual(['fail-2', 'fail-1']);

    // age: evaluated when a later job of the same kind finishes
    await q.add('old', {}, { removeOnComplete: { age: 60 } });
    await w.clock.runForegroundTimers();
    await w.clock.advance(61_000);
    await q.add('new', {}, { removeOnComplete: { age: 60 } });
    await w.clock.runForegroundTimers();
    const names = (await q.getCompleted()).map((j) => j.name);
    expect(names).toContain('new');
    expect(names).not.toContain('old');
    expect(names).not.toContain('count-3'); // older than 60 s as well
  });

  it("uses the Worker's removeOnComplete when the job has none", async () => {
    w = createWorld();
    const q = w.queue('worker-keep');
    w.worker('worker-keep', async () => 'r', { removeOnComplete: { count: 1 } });
    for (let i = 0; i < 3; i++) await q.add(`j${i}`, {});
    await w.clock.runForegroundTimers();
    expect((await q.getCompleted()).map((j) => j.name)).toEqual(['j2']);
  });
});
