import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

describe('in-memory backend: queue control', () => {
  it('pause stops handing out jobs; resume wakes the blocked worker', async () => {
    w = createWorld();
    const q = w.queue('pause');
    const seen: string[] = [];
    w.worker('pause', async (job) => {
      seen.push(job.name);
    });
    await q.pause();
    expect(await q.isPaused()).toBe(true);
    await q.add('a', {});
    await q.add('b', {});
    await w.clock.advance(60_000);
    expect(seen).toEqual([]);
    expect(await q.getWaitingCount()).toBe(2);
    await q.resume();
    await w.clock.settle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('global concurrency caps active jobs across workers', async () => {
    w = createWorld();
    const q = w.queue('global');
    await q.setGlobalConcurrency(1);
    expect(await q.getGlobalConcurrency()).toBe(1);
    let active = 0;
    let maxActive = 0;
    const processor = async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      await w.clock.sleep(100);
      active--;
    };
    w.worker('global', processor, { concurrency: 3 });
    w.worker('global', processor, { concurrency: 3 });
    for (let i = 0; i < 6; i++) await q.add(`j${i}`, {});
    await w.clock.settle();
    expect(await q.isMaxed()).toBe(true);
    await w.clock.runForegroundTimers();
    expect(maxActive).toBe(1);
    expect(await q.getCompletedCount()).toBe(6);
    expect(w.clock.now() - Date.UTC(2026, 0, 1)).toBe(600);

    await q.removeGlobalConcurrency();
    maxActive = 0;
    for (let i = 0; i < 6; i++) await q.add(`k${i}`, {});
    await w.clock.runForegroundTimers();
    expect(maxActive).toBe(6);
  });

  it('drain removes waiting (and optionally delayed) jobs; obliterate destroys the queue', async () => {
    w = createWorld();
    const q = w.queue('drain');
    await q.add('w1', {});
    await q.add('d1', {}, { delay: 1000 });
    await q.drain();
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 1 });
    await q.drain(true);
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });

    await q.add('x', {});
    await q.add('y', {}, { delay: 5 });
    await q.obliterate();
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0, completed: 0 });
    expect(w.store.queue('bull:drain').jobs.size).toBe(0);
    expect(w.clock.pending().filter((p) => !p.unref)).toEqual([]);
  });

  it('obliterate refuses active jobs unless forced', async () => {
    w = createWorld();
    const q = w.queue('obl');
    const worker = w.worker('obl', () => w.clock.sleep(1000));
    const errors: string[] = [];
    worker.on('error', (err) => errors.push(err.message));
    const job = await q.add('long', {});
    await w.clock.settle();
    await expect(q.obliterate()).rejects.toThrow('Cannot obliterate queue with active jobs');
    await q.obliterate({ force: true });
    expect(await q.getActiveCount()).toBe(0);
    await w.clock.advance(1000); // the processor returns: its job is gone, as on Redis
    expect(errors).toContain(`Missing key for job ${job.id}. moveToFinished`);
  });

  it('job.retry() reprocesses a failed job; queue.retryJobs() retries all failed; promote and changeDelay', async () => {
    w = createWorld();
    const q = w.queue('retry');
    let failing = true;
    const runs: string[] = [];
    w.worker('retry', async (job) => {
      runs.push(job.name);
      if (failing) throw new Error('down');
    });
    const a = await q.add('a', {});
    await q.add('b', {});
    await w.clock.runForegroundTimers();
    expect(await q.getFailedCount()).toBe(2);
    failing = false;
    const failedA = (await q.getJob(a.id!))!;
    await failedA.retry('failed');
    await w.clock.runForegroundTimers();
    expect(await q.getJobState(a.id!)).toBe('completed');
    await q.retryJobs({ state: 'failed' });
    await w.clock.runForegroundTimers();
    expect(await q.getJobCounts('completed', 'failed')).toEqual({ completed: 2, failed: 0 });
    expect(runs).toEqual(['a', 'b', 'a', 'b']);

    const d = await q.add('delayed', {}, { delay: 60_000 });
    await d.changeDelay(10);
    await w.clock.advance(10);
    expect(await q.getJobState(d.id!)).toBe('completed');
    const p = await q.add('promoted', {}, { delay: 60_000 });
    await p.promote();
    await w.clock.settle();
    expect(await q.getJobState(p.id!)).toBe('completed');
  });

  it('clean reads the grace the Queue was called with: real time passing during the call does not spare a job', async () => {
    w = createWorld();
    const q = w.queue('clean-drift');
    const job = await q.add('fresh', {});
    const real = Date.now;
    let calls = 0;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => real() + 25 * calls++); // 25 ms of real time per call
    try {
      expect(await q.clean(0, 10, 'wait')).toEqual([job.id]);
      await q.add('younger', {});
      await w.clock.advance(40);
      expect(await q.clean(50, 10, 'wait')).toEqual([]); // 40 ms old on the clock: within a grace of 50 ms
    } finally {
      spy.mockRestore();
    }
  });

  it('remove deletes an unlocked job and refuses a locked one; clean removes finished jobs by age', async () => {
    w = createWorld();
    const q = w.queue('remove');
    const waiting = await q.add('w', {}, { delay: 10 });
    await q.remove(waiting.id!);
    expect(await q.getJob(waiting.id!)).toBeUndefined();
    w.worker('remove', () => w.clock.sleep(1000));
    const active = await q.add('a', {});
    await w.clock.settle();
    await expect(active.remove()).rejects.toThrow(/locked/);
    await w.clock.runForegroundTimers();
    await w.clock.advance(5000);
    const fresh = await q.add('fresh', {});
    await w.clock.runForegroundTimers();
    const cleaned = await q.clean(2000, 100, 'completed');
    expect(cleaned).toEqual([active.id]);
    expect(await q.getJob(fresh.id!)).toBeDefined();
  });
});
