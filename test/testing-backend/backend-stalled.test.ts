import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

const lockOpts = { lockDuration: 10_000, stalledInterval: 5_000 };

describe('in-memory backend: locks and stalled jobs on the clock', () => {
  it('renews the lock of a long-running job, so it never stalls', async () => {
    w = createWorld();
    const q = w.queue('long');
    const stalled: string[] = [];
    w.store.on('stalled', (_q, id) => stalled.push(id));
    let runs = 0;
    w.worker('long', async () => {
      runs++;
      await w.clock.sleep(120_000);
    }, lockOpts);
    w.worker('long', async () => {
      runs++;
    }, lockOpts);
    const job = await q.add('slow', {});
    await w.clock.runForegroundTimers();
    expect(runs).toBe(1);
    expect(stalled).toEqual([]);
    expect((await q.getJob(job.id!))?.attemptsStarted).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('completed');
  });

  it('a crashed worker’s job stalls when its lock expires and goes back to the head of wait', async () => {
    w = createWorld();
    const q = w.queue('crash');
    const crashed = w.worker('crash', () => w.clock.sleep(1_000_000), lockOpts);
    const victim = await q.add('victim', {});
    await q.add('other', {});
    await w.clock.settle();
    expect(await q.getJobState(victim.id!)).toBe('active');
    await crashed.close(true); // no more lock renewal, the processor never reports back

    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Recovery is the rescuing Worker's own stalled check (its 'stalled' event), run on the clock while it runs.
    const rescuer = w.worker('crash', async (job) => {
      await gate;
      seen.push(`${job.name}:${job.attemptsStarted}:${job.stalledCounter}`);
    }, { ...lockOpts, concurrency: 2 });
    const stalledEvents: string[] = [];
    const workerStalled: string[] = [];
    w.store.on('stalled', (_q, id) => stalledEvents.push(id));
    rescuer.on('stalled', (id, prev) => workerStalled.push(`${id}:${prev}`));
    await w.clock.settle();

    await w.clock.advance(9_999); // lock still held: marked but not recovered
    expect(await q.getJobState(victim.id!)).toBe('active');
    expect(workerStalled).toEqual([]);
    await w.clock.advance(5_001); // next stalled check after the lock expired
    expect(stalledEvents).toEqual([victim.id]);
    expect(workerStalled).toEqual([`${victim.id}:active`]);

    release();
    for (let i = 0; i < 20 && seen.length < 2; i++) await w.clock.settle();
    expect(seen.sort()).toEqual(['other:1:0', 'victim:2:1']);
  });

  it('fails a job that stalled more than maxStalledCount times', async () => {
    w = createWorld();
    const q = w.queue('max-stalled');
    const crashed = w.worker('max-stalled', () => w.clock.sleep(1_000_000), lockOpts);
    const job = await q.add('doomed', {});
    await w.clock.settle();
    await crashed.close(true);
    const rescuer = w.worker('max-stalled', async () => 'should not run', { ...lockOpts, maxStalledCount: 0 });
    const failed: string[] = [];
    rescuer.on('failed', (j, err) => failed.push(`${j?.name}:${err.message}`));
    await w.clock.advance(15_000);
    expect(failed).toEqual(['doomed:job stalled more than allowable limit']);
    expect(await q.getJobState(job.id!)).toBe('failed');
  });

  it('job.extendLock keeps a job whose worker skips automatic renewal', async () => {
    w = createWorld();
    const opts = { lockDuration: 1000, stalledInterval: 500, skipLockRenewal: true };
    const run = async (extend: boolean) => {
      const name = extend ? 'extended' : 'expiring';
      const worker = w.worker(`extend-${name}`, async (job, token) => {
        await w.clock.sleep(800);
        if (extend) await job.extendLock(token!, 1000);
        await w.clock.sleep(800);
      }, opts);
      const errors: string[] = [];
      worker.on('error', (err) => errors.push(err.message));
      const stalled: string[] = [];
      w.store.on('stalled', (queue) => stalled.push(queue));
      const queue = w.queue(`extend-${name}`);
      const job = await queue.add(name, {});
      await w.clock.advance(1600);
      await worker.close(true);
      return { stalled, errors, job: await queue.getJob(job.id!) };
    };
    const extended = await run(true);
    expect(extended.stalled).toEqual([]);
    expect(await extended.job?.getState()).toBe('completed');
    const expiring = await run(false);
    expect(expiring.stalled).toEqual(['bull:extend-expiring']);
    expect(expiring.job?.stalledCounter).toBe(1);
    expect(expiring.errors).toContain(`Missing lock for job ${expiring.job?.id}. moveToFinished`);
  });
});
