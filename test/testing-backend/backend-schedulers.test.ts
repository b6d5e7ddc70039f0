import type { Job, RepeatStrategy } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreRemoval } from '../../testing/backend/index.js';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

const millisOf = (jobId: string | undefined): number => Number(String(jobId).split(':').pop());

/** A worker recording the ids it ran. */
function recorder(world: World, queue: string, opts: Record<string, unknown> = {}) {
  const ran: string[] = [];
  world.worker(queue, async (job: Job) => {
    ran.push(job.id!);
  }, opts);
  return ran;
}

describe('in-memory backend: job schedulers on the TestClock', () => {
  it("a scheduler's next run is one clock.advance(every) away", async () => {
    w = createWorld();
    const q = w.queue('every');
    const t0 = w.clock.now();
    const first = await q.upsertJobScheduler('s', { every: 1000 }, { name: 'tick' });
    expect(first?.id).toBe(`repeat:s:${t0}`);
    const ran = recorder(w, 'every');
    await w.clock.settle();
    expect(ran).toEqual([`repeat:s:${t0}`]);
    const [next] = await q.getDelayed();
    expect([next.id, next.delay, next.timestamp]).toEqual([`repeat:s:${t0 + 1000}`, 1000, t0]);
    await w.clock.advance(999);
    expect(ran).toHaveLength(1);
    await w.clock.advance(1);
    expect(ran).toEqual([`repeat:s:${t0}`, `repeat:s:${t0 + 1000}`]);
    await w.clock.advance(3000);
    expect(ran.map(millisOf)).toEqual([0, 1000, 2000, 3000, 4000].map((d) => t0 + d));
    expect((await q.getJobScheduler('s'))?.iterationCount).toBe(6);
  });

  it('a cron pattern is computed on the clock, not on Date.now()', async () => {
    w = createWorld();
    const q = w.queue('cron');
    const t0 = w.clock.now(); // 2026-01-01T00:00:00Z: on a 5-second boundary
    const first = await q.upsertJobScheduler('c', { pattern: '*/5 * * * * *', tz: 'UTC' });
    expect([first?.id, first?.delay]).toEqual([`repeat:c:${t0 + 5000}`, 5000]);
    const ran = recorder(w, 'cron');
    await w.clock.advance(15_000);
    expect(ran.map(millisOf)).toEqual([5000, 10_000, 15_000].map((d) => t0 + d));
    const [next] = await q.getDelayed();
    expect([next.id, next.delay]).toEqual([`repeat:c:${t0 + 20_000}`, 5000]);
  });

  it('missed iterations are skipped when no worker ran for a while (every keeps its offset, cron its pattern)', async () => {
    w = createWorld();
    const q = w.queue('late');
    const t0 = w.clock.now();
    await q.upsertJobScheduler('e', { every: 1000, offset: 250 });
    await q.upsertJobScheduler('c', { pattern: '0 * * * * *', tz: 'UTC' });
    await w.clock.advance(3_600_000 + 100);
    const ran = recorder(w, 'late');
    await w.clock.settle();
    expect(ran.sort()).toEqual([`repeat:c:${t0 + 60_000}`, `repeat:e:${t0 + 250}`]);
    expect((await q.getDelayed()).map((j) => j.id).sort()).toEqual([`repeat:c:${t0 + 3_660_000}`, `repeat:e:${t0 + 3_600_250}`]);
  });

  it("the caller's settings.repeatStrategy computes pattern runs, with clock time", async () => {
    w = createWorld();
    const calls: number[] = [];
    const repeatStrategy: RepeatStrategy = (millis) => {
      calls.push(millis);
      return millis + 1234;
    };
    const q = w.queue('custom', { settings: { repeatStrategy } });
    const t0 = w.clock.now();
    const first = await q.upsertJobScheduler('x', { pattern: 'my-own' });
    expect([first?.id, first?.delay]).toEqual([`repeat:x:${t0 + 1234}`, 1234]);
    expect(calls).toContain(t0);
    recorder(w, 'custom', { settings: { repeatStrategy } });
    await w.clock.advance(1234);
    expect((await q.getDelayed()).map((j) => j.id)).toEqual([`repeat:x:${t0 + 2468}`]);
  });

  it('a stalled iteration goes back to wait and never fails for stalling', async () => {
    w = createWorld();
    const q = w.queue('stall');
    const lockOpts = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 0 };
    const crashed = w.worker('stall', () => w.clock.sleep(1_000_000), lockOpts);
    const first = await q.upsertJobScheduler('s', { every: 3_600_000 });
    await w.clock.settle();
    expect(await q.getJobState(first!.id!)).toBe('active');
    await crashed.close(true);
    const stalled: string[] = [];
    w.store.on('stalled', (_q, id) => stalled.push(id));
    // A running Worker's own stalled check (on the clock) recovers it; the recovered iteration then runs.
    w.worker('stall', async () => 'ok', lockOpts);
    await w.clock.advance(15_001);
    expect(stalled).toEqual([first!.id]);
    const job = await q.getJob(first!.id!);
    expect([await job?.getState(), job?.stalledCounter, job?.deferredFailure]).toEqual(['completed', 1, undefined]);
  });

  it("reports iterations as the store's added jobs, and the ones a scheduler deletes as removed by 'scheduler'", async () => {
    w = createWorld();
    const q = w.queue('report');
    const added: string[] = [];
    const removed: [string[], StoreRemoval][] = [];
    w.store.on('added', (_q, job) => added.push(job.id));
    w.store.on('removed', (_q, ids, how) => removed.push([[...ids], how]));
    const a = await q.upsertJobScheduler('r', { every: 60_000, startDate: w.clock.now() + 1000 });
    const b = await q.upsertJobScheduler('r', { every: 30_000 });
    await q.removeJobScheduler('r');
    expect(added).toEqual([a!.id, b!.id]);
    expect(removed).toEqual([[[a!.id], 'scheduler']]); // b was waiting: removeJobScheduler leaves it
    expect(await q.getJobState(b!.id!)).toBe('waiting');
  });

  it("a scheduler slot already taken by an old job moves to the next free slot; 32 taken slots are an error", async () => {
    w = createWorld();
    const q = w.queue('slots');
    const t0 = w.clock.now();
    // Completed jobs of an earlier scheduler with the same id hold the first slots.
    await q.upsertJobScheduler('s', { every: 10 });
    const ran = recorder(w, 'slots');
    await w.clock.advance(20);
    expect(ran).toHaveLength(3);
    await q.removeJobScheduler('s');
    const again = await q.upsertJobScheduler('s', { every: 10 });
    expect(again?.id).toBe(`repeat:s:${t0 + 30}`);
    await q.removeJobScheduler('s');
    await q.remove(again!.id!);
    for (let i = 0; i < 40; i++) await q.add('filler', {}, { jobId: `repeat:s:${t0 + 20 + i * 10}` });
    await expect(q.upsertJobScheduler('s', { every: 10 })).rejects.toThrow(
      'Cannot create job scheduler iteration - current and next time slots already have jobs. addJobScheduler',
    );
  });
});
