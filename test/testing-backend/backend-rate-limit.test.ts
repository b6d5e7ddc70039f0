import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

const HOUR = 3_600_000;

describe('in-memory backend: rate-limit windows run on the store clock', () => {
  it('a one-hour limiter window passes with one clock.advance, not in real time', async () => {
    w = createWorld();
    const q = w.queue('hourly');
    const seen: string[] = [];
    w.worker('hourly', async (job) => void seen.push(job.name), { limiter: { max: 1, duration: HOUR } });
    await q.add('a', {});
    await q.add('b', {});
    const realStart = Date.now();
    await w.clock.advance(10);
    expect(seen).toEqual(['a']);
    await w.clock.advance(HOUR - 100);
    expect(seen).toEqual(['a']);
    expect(await q.getRateLimitTtl(1)).toBe(90);
    await w.clock.advance(100);
    expect(seen).toEqual(['a', 'b']);
    expect(Date.now() - realStart).toBeLessThan(5_000);
  });

  it('RateLimitError after worker.rateLimit(one hour): the job runs again when the clock passes the hour', async () => {
    w = createWorld();
    const q = w.queue('manual');
    let starts = 0;
    const worker = w.worker(
      'manual',
      async () => {
        starts += 1;
        if (starts === 1) {
          await worker.rateLimit(HOUR);
          throw Worker.RateLimitError();
        }
        return 'ok';
      },
      { limiter: { max: 10, duration: 1000 } },
    );
    await q.add('call', {});
    await w.clock.advance(10);
    expect(starts).toBe(1);
    expect(await q.getWaitingCount()).toBe(1);
    await w.clock.advance(HOUR - 20);
    expect(starts).toBe(1);
    await w.clock.advance(20);
    expect(starts).toBe(2);
    expect(await q.getCompletedCount()).toBe(1);
  });

  it('clock.runForegroundTimers() runs through the windows until every job is done (a window end is pending work)', async () => {
    w = createWorld();
    const q = w.queue('windows');
    const at: number[] = [];
    const start = w.clock.now();
    w.worker('windows', async () => void at.push(w.clock.now() - start), { limiter: { max: 2, duration: 1000 } });
    for (let i = 0; i < 5; i++) await q.add(`j${i}`, {});
    await w.clock.runForegroundTimers();
    expect(at).toEqual([0, 0, 1000, 1000, 2000]);
  });

  it('a limit with a max but no duration is refused with an error naming what is missing', async () => {
    w = createWorld();
    const q = w.queue('nodur');
    await q.add('x', {});
    const worker = w.worker('nodur', null, { limiter: { max: 1 } as never });
    await expect(worker.getNextJob('tok', { block: false })).rejects.toThrow(
      "rate limiting: a limit of 1 jobs has no duration (set the worker's limiter.duration, or use queue.setGlobalRateLimit(max, duration))",
    );
    expect(await q.getWaitingCount()).toBe(1);
  });

  it('the limiter key survives obliterate, as on Redis', async () => {
    w = createWorld();
    const q = w.queue('obl');
    await q.rateLimit(5000);
    await q.pause();
    await q.obliterate();
    const ttl = await q.getRateLimitTtl();
    expect(ttl).toBe(5000);
  });
});

describe('in-memory backend: the limiter counter (prepareJobForProcessing.lua)', () => {
  it('a job taken with a deferred failure (stalled too often) does not count towards the window', async () => {
    w = createWorld();
    const q = w.queue('deferred');
    const a = await q.add('a', {});
    const state = w.store.queue('bull:deferred');
    state.getJob(a.id!)!.deferredFailure = 'job stalled more than allowable limit';
    const limiter = { max: 1, duration: 1000 };
    expect(state.fetchNext({ token: 't1', lockDuration: 30_000, limiter })[1]).toBe(a.id);
    expect(await q.getRateLimitTtl(1)).toBe(0); // nothing counted: no window opened
    const b = await q.add('b', {});
    expect(state.fetchNext({ token: 't2', lockDuration: 30_000, limiter })[1]).toBe(b.id);
    expect(await q.getRateLimitTtl(1)).toBe(1000); // b counted and opened the window
    expect(state.fetchNext({ token: 't3', lockDuration: 30_000, limiter })).toEqual([null, 0, 1000, 0]);
  });
});
