import { afterEach, describe, expect, it, vi } from 'vitest';
import { InMemoryQueueBackend } from '../../testing/backend/index.js';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => {
  vi.restoreAllMocks();
  await w?.close();
});

describe('in-memory backend: adding, ordering, getters', () => {
  it('processes one queue FIFO with add and addBulk, on a real BullMQ Worker', async () => {
    w = createWorld();
    const q = w.queue('fifo');
    const seen: string[] = [];
    await q.add('a', { n: 'a' });
    await q.addBulk([{ name: 'b', data: { n: 'b' } }, { name: 'c', data: { n: 'c' } }]);
    await q.add('d', { n: 'd' });
    w.worker('fifo', async (job) => {
      seen.push(job.data.n);
    });
    await w.clock.runForegroundTimers();
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a job added while the worker is idle-blocked is picked up without advancing time', async () => {
    w = createWorld();
    const q = w.queue('wake');
    const seen: string[] = [];
    const worker = w.worker('wake', async (job) => {
      seen.push(job.name);
    });
    await worker.waitUntilReady();
    await w.clock.settle();
    const before = w.clock.now();
    await q.add('late', {});
    await w.clock.settle();
    expect(seen).toEqual(['late']);
    expect(w.clock.now()).toBe(before);
  });

  it('serves non-prioritized jobs first, then priorities low number first, FIFO within a priority; lifo jumps the line', async () => {
    w = createWorld();
    const q = w.queue('prio');
    await q.add('p5', {}, { priority: 5 });
    await q.add('p1-first', {}, { priority: 1 });
    await q.add('plain', {});
    await q.add('p1-second', {}, { priority: 1 });
    await q.add('lifo', {}, { lifo: true });
    expect(await q.getPrioritizedCount()).toBe(3);
    expect(await q.getCountsPerPriority([0, 1, 5])).toEqual({ '0': 2, '1': 2, '5': 1 });
    const seen: string[] = [];
    w.worker('prio', async (job) => {
      seen.push(job.name);
    });
    await w.clock.runForegroundTimers();
    expect(seen).toEqual(['lifo', 'plain', 'p1-first', 'p1-second', 'p5']);
  });

  it('runs a delayed job exactly when the clock reaches its delay, not before', async () => {
    w = createWorld();
    const q = w.queue('delay');
    const ran: number[] = [];
    const start = w.clock.now();
    w.worker('delay', async () => {
      ran.push(w.clock.now() - start);
    });
    const job = await q.add('later', {}, { delay: 5000 });
    expect(await job.getState()).toBe('delayed');
    expect(await q.getDelayedCount()).toBe(1);
    await w.clock.advance(4999);
    expect(ran).toEqual([]);
    await w.clock.advance(1);
    expect(ran).toEqual([5000]);
    expect(await q.getJobState(job.id!)).toBe('completed');
  });

  it('gives job counts, getters by state and stored job fields', async () => {
    w = createWorld();
    const q = w.queue('getters');
    const a = await q.add('a', { x: 1 });
    await q.add('b', { x: 2 });
    await q.add('c', { x: 3 }, { delay: 1000 });
    expect(await q.getJobCounts()).toMatchObject({ waiting: 2, delayed: 1, active: 0, completed: 0, failed: 0 });
    expect((await q.getWaiting()).map((j) => j.name)).toEqual(['a', 'b']); // ascending: next job first
    expect((await q.getJobs(['waiting'], 0, -1, false)).map((j) => j.name)).toEqual(['b', 'a']);
    expect((await q.getJobs(['waiting'], 0, 0, true)).map((j) => j.name)).toEqual(['a']);
    expect((await q.getDelayed()).map((j) => j.name)).toEqual(['c']);
    expect(await q.getWaitingCount()).toBe(2);
    expect(await q.count()).toBe(3);
    const stored = await q.getJob(a.id!);
    expect(stored).toMatchObject({ id: a.id, name: 'a', data: { x: 1 }, attemptsMade: 0, timestamp: w.clock.now() });
    expect(await q.getJob('nope')).toBeUndefined();
    expect(await q.getJobState('nope')).toBe('unknown');

    w.worker('getters', async (job) => ({ doubled: job.data.x * 2 }));
    await w.clock.runForegroundTimers();
    const completed = await q.getCompleted();
    expect(completed.map((j) => j.name).sort()).toEqual(['a', 'b', 'c']);
    const done = await q.getJob(a.id!);
    expect(done?.returnvalue).toEqual({ doubled: 2 });
    expect(done?.finishedOn).toBe(w.clock.now() - 1000); // a ran at once, c ran when its 1 s delay was due
    expect(done?.processedOn).toBe(w.clock.now() - 1000);
    expect((await q.getJob(completed.find((j) => j.name === 'c')!.id!))?.finishedOn).toBe(w.clock.now());
    expect(await q.getJobCounts('completed', 'waiting', 'delayed')).toEqual({ completed: 3, waiting: 0, delayed: 0 });
  });

  it('keeps an existing job when a custom job id is added twice', async () => {
    w = createWorld();
    const q = w.queue('dup');
    const first = await q.add('x', { v: 1 }, { jobId: 'order-1' });
    const second = await q.add('x', { v: 2 }, { jobId: 'order-1' });
    expect(second.id).toBe(first.id);
    expect(await q.getWaitingCount()).toBe(1);
    expect((await q.getJob('order-1'))?.data).toEqual({ v: 1 });
  });

  it('supports job.updateData, updateProgress and log while the job runs', async () => {
    w = createWorld();
    const q = w.queue('job-api');
    const progress: unknown[] = [];
    const worker = w.worker('job-api', async (job) => {
      await job.updateData({ step: 'updated' });
      await job.updateProgress(50);
      await job.log('first line');
      await job.log('second line');
      await job.updateProgress({ phase: 'done' });
    });
    worker.on('progress', (_job, p) => progress.push(p));
    const job = await q.add('j', { step: 'initial' });
    await w.clock.runForegroundTimers();
    const stored = await q.getJob(job.id!);
    expect(stored?.data).toEqual({ step: 'updated' });
    expect(stored?.progress).toEqual({ phase: 'done' });
    expect(progress).toEqual([50, { phase: 'done' }]);
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['first line', 'second line'], count: 2 });
    expect(await q.getJobLogs(job.id!, 0, 0, false)).toEqual({ logs: ['second line'], count: 2 });
  });

  it('emits the Worker events the services use: ready, active, completed, failed, closed', async () => {
    w = createWorld();
    const q = w.queue('events');
    const events: string[] = [];
    const worker = w.worker('events', async (job) => {
      if (job.name === 'bad') throw new Error('boom');
      return 'ok';
    });
    worker.on('ready', () => events.push('ready'));
    worker.on('active', (job) => events.push(`active:${job.name}`));
    worker.on('completed', (job, result) => events.push(`completed:${job.name}:${result}`));
    worker.on('failed', (job, err) => events.push(`failed:${job?.name}:${err.message}`));
    worker.on('closed', () => events.push('closed'));
    await q.add('good', {});
    await q.add('bad', {});
    await w.clock.runForegroundTimers();
    await worker.close();
    // 'ready' comes from BullMQ's real setTimeout(0), so with no I/O it may follow the first jobs.
    expect(events).toContain('ready');
    expect(events.filter((e) => e !== 'ready')).toEqual(['active:good', 'completed:good:ok', 'active:bad', 'failed:bad:boom', 'closed']);
  });

  it('QueueEvents receives completed/failed events and job.waitUntilFinished works', async () => {
    w = createWorld();
    const q = w.queue('qe');
    const qe = w.queueEvents('qe');
    await qe.waitUntilReady();
    const seen: string[] = [];
    qe.on('completed', ({ jobId, returnvalue }) => seen.push(`completed:${jobId}:${JSON.stringify(returnvalue)}`));
    qe.on('failed', ({ jobId, failedReason }) => seen.push(`failed:${jobId}:${failedReason}`));
    await w.clock.settle();
    w.worker('qe', async (job) => {
      if (job.data.fail) throw new Error('nope');
      return { ok: true };
    });
    const good = await q.add('g', {});
    const bad = await q.add('b', { fail: true });
    await expect(good.waitUntilFinished(qe)).resolves.toEqual({ ok: true });
    await expect(bad.waitUntilFinished(qe)).rejects.toThrow('nope');
    await w.clock.settle();
    expect(seen).toEqual([`completed:${good.id}:{"ok":true}`, `failed:${bad.id}:nope`]);
  });

  it('an idle worker blocks for drainDelay seconds of clock time per wait, then waits again', async () => {
    const wait = vi.spyOn(InMemoryQueueBackend.prototype, 'waitForJob');
    w = createWorld();
    const worker = w.worker('idle', async () => {}, { drainDelay: 5 });
    await worker.waitUntilReady();
    await w.clock.settle();
    expect(wait.mock.calls).toEqual([[5]]);
    await w.clock.advance(4999);
    expect(wait).toHaveBeenCalledTimes(1);
    await w.clock.advance(1);
    expect(wait).toHaveBeenCalledTimes(2);
    await w.clock.runForegroundTimers(); // idle waits are unref'd: they do not keep the clock busy
  });

  it('worker.pause() stops taking jobs and worker.resume() continues', async () => {
    w = createWorld();
    const q = w.queue('wpause');
    const seen: string[] = [];
    const worker = w.worker('wpause', async (job) => {
      seen.push(job.name);
    });
    await q.add('before', {});
    await w.clock.settle();
    await worker.pause(); // BullMQ waits 100 ms of real time here after interrupting its blocking wait
    await q.add('while-paused', {});
    await w.clock.advance(60_000);
    expect(seen).toEqual(['before']);
    worker.resume();
    await w.clock.settle();
    expect(seen).toEqual(['before', 'while-paused']);
  });
});
