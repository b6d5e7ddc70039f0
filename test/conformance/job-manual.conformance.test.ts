import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';

/** Manual processing (https://docs.bullmq.io/patterns/manually-fetching-jobs): a Worker with no processor, tokens by hand. */
describeOnBothBackends('conformance: Job manual processing with tokens', (world) => {
  it('getNextJob → moveToCompleted(token) returns the next job (fetchNext), then moveToFailed; states and values as stored', async () => {
    const w = world();
    const q = w.queue('manual');
    const a = await q.add('a', { n: 1 });
    const b = await q.add('b', { n: 2 });
    const worker = w.worker('manual', null, { autorun: false });
    const first = await worker.getNextJob('token-1');
    expect(first?.id).toBe(a.id);
    expect(first?.token).toBe('token-1');
    expect(await first!.getState()).toBe('active');
    expect(await first!.isActive()).toBe(true);
    const next = await first!.moveToCompleted({ ok: 1 }, 'token-1', true);
    expect(next?.[1]).toBe(b.id); // [jobData, jobId, rateLimit, delayUntil]
    expect(await q.getJobState(a.id!)).toBe('completed');
    expect((await q.getJob(a.id!))?.returnvalue).toEqual({ ok: 1 });
    expect(await q.getJobState(b.id!)).toBe('active');

    const bJob = (await q.getJob(b.id!))!;
    await bJob.moveToFailed(new Error('manual failure'), 'token-1', false);
    const failed = (await q.getJob(b.id!))!;
    expect(await failed.getState()).toBe('failed');
    expect(failed.failedReason).toBe('manual failure');
    expect(failed.attemptsMade).toBe(1);
    expect(await worker.getNextJob('token-2', { block: false })).toBeUndefined();
  });

  it('a wrong token is refused with the Lock mismatch / Missing lock errors of moveToFinished', async () => {
    const w = world();
    const q = w.queue('manual-lock');
    await q.add('a', {});
    const worker = w.worker('manual-lock', null, { autorun: false });
    const job = (await worker.getNextJob('right'))!;
    await expect(job.moveToCompleted('x', 'wrong', false)).rejects.toThrow(`Lock mismatch for job ${job.id}. Cmd moveToFinished from active`);
    await job.moveToCompleted('x', 'right', false);
    await expect(job.moveToFailed(new Error('late'), 'right', false)).rejects.toThrow(`Missing lock for job ${job.id}. moveToFinished`);
  });

  it('extendLock answers 1 for the holder, 0 for another token; the lock lasts its new duration', async () => {
    const w = world();
    const q = w.queue('manual-extend');
    await q.add('a', {});
    const worker = w.worker('manual-extend', null, { autorun: false, lockDuration: 300 });
    const job = (await worker.getNextJob('tok'))!;
    expect(await job.extendLock('tok', 60_000)).toBe(1);
    expect(await job.extendLock('other', 60_000)).toBe(0);
    await w.advance(400); // past the first lockDuration; the extended lock still holds
    await expect(job.remove()).rejects.toThrow(`Job ${job.id} could not be removed because it is locked by another worker`);
    await job.moveToCompleted('done', 'tok', false);
    expect(await job.getState()).toBe('completed');
    await job.remove();
    expect(await q.getJob(job.id!)).toBeUndefined();
  });

  it('job.moveToDelayed(timestamp, token) + DelayedError: the job waits, then runs again without a new attempt', async () => {
    const w = world();
    const q = w.queue('manual-delayed');
    const added = await q.add('a', {});
    const worker = w.worker('manual-delayed', null, { autorun: false });
    const job = (await worker.getNextJob('tok'))!;
    await job.moveToDelayed(Date.now() + 1000, 'tok');
    expect(await q.getJobState(added.id!)).toBe('delayed');
    expect(await q.getDelayedCount()).toBe(1);
    expect(await worker.getNextJob('early', { block: false })).toBeUndefined();
    await w.advance(1100);
    // A due delayed job is promoted when a worker fetches (moveToActive), and handed out at once.
    const again = (await worker.getNextJob('tok2'))!;
    expect(again.id).toBe(added.id);
    expect(again.attemptsMade).toBe(0);
    expect(again.attemptsStarted).toBe(2);
  });

  it('moveToWait puts an active job back at the head of wait', async () => {
    const w = world();
    const q = w.queue('manual-wait');
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    const worker = w.worker('manual-wait', null, { autorun: false });
    const job = (await worker.getNextJob('tok'))!;
    expect(job.id).toBe(a.id);
    await job.moveToWait('tok');
    expect((await q.getWaiting()).map((j) => j.id)).toEqual([a.id, b.id]); // getWaiting lists the next job first
    expect((await worker.getNextJob('tok2'))?.id).toBe(a.id);
  });
});
