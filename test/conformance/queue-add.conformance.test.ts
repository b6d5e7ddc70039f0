import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';
import { gate } from './support.js';

describeOnBothBackends('conformance: Queue adding, retention, global concurrency, meta', (world) => {
  it('addBulk keeps order and options; custom ids; a duplicate id returns the existing job; jobId "0" is refused', async () => {
    const w = world();
    const q = w.queue('add');
    const waitingEvents: string[] = [];
    q.on('waiting', (job) => waitingEvents.push(job.name));
    const jobs = await q.addBulk([
      { name: 'a', data: { n: 1 } },
      { name: 'b', data: { n: 2 }, opts: { jobId: 'custom-b', priority: 2 } },
      { name: 'c', data: { n: 3 }, opts: { delay: 60_000 } },
    ]);
    expect(jobs.map((j) => j.id)).toEqual([jobs[0]!.id, 'custom-b', jobs[2]!.id]);
    expect(await q.getJobState('custom-b')).toBe('prioritized');
    expect(await q.getJobState(jobs[2]!.id!)).toBe('delayed');
    const again = await q.add('b-again', { n: 99 }, { jobId: 'custom-b' });
    expect(again.id).toBe('custom-b');
    expect((await q.getJob('custom-b'))?.data).toEqual({ n: 2 });
    await expect(q.add('zero', {}, { jobId: '0' })).rejects.toThrow("JobId cannot be '0' or start with '0:'");
    expect(waitingEvents).toEqual(['b-again']); // Queue 'waiting' fires for add(), not for addBulk
    const lifo = await q.add('lifo', {}, { lifo: true });
    expect((await q.getWaiting()).map((j) => j.id)).toEqual([lifo.id, jobs[0]!.id]);
  });

  it('removeOnComplete / removeOnFail: true, a count, and the job option over the Worker option', async () => {
    const w = world();
    const q = w.queue('retention');
    w.worker('retention', async (job) => {
      if (job.data.fail) throw new Error('no');
    }, { removeOnComplete: { count: 2 } });
    const gone = await q.add('gone', {}, { removeOnComplete: true });
    for (const n of [1, 2, 3]) await q.add(`kept${n}`, {});
    const failedGone = await q.add('failed-gone', { fail: true }, { removeOnFail: true });
    const failedKept = await q.add('failed-kept', { fail: true }, { removeOnFail: 1 });
    await w.waitFor(async () => (await q.getJobCounts('waiting', 'active')).waiting + (await q.getActiveCount()) === 0 && (await q.getFailedCount()) === 1, 'all finished');
    expect(await q.getJob(gone.id!)).toBeUndefined();
    expect(await q.getJob(failedGone.id!)).toBeUndefined();
    expect((await q.getJob(failedKept.id!))?.failedReason).toBe('no');
    expect((await q.getCompleted()).map((j) => j.name).sort()).toEqual(['kept2', 'kept3']);
  });

  it('global concurrency: set/get/remove, and no more than that many jobs run at once across workers', async () => {
    const w = world();
    const q = w.queue('global');
    expect(await q.getGlobalConcurrency()).toBeNull();
    await q.setGlobalConcurrency(1);
    expect(await q.getGlobalConcurrency()).toBe(1);
    expect((await q.getMeta()).concurrency).toBe(1);
    const hold = gate();
    let running = 0;
    let most = 0;
    const processor = async () => {
      running++;
      most = Math.max(most, running);
      await hold.promise;
      running--;
    };
    w.worker('global', processor, { concurrency: 3 });
    w.worker('global', processor, { concurrency: 3 });
    for (const n of [1, 2, 3]) await q.add(`g${n}`, {});
    await w.waitFor(async () => (await q.getActiveCount()) === 1, 'one active');
    await w.advance(200);
    expect(await q.getActiveCount()).toBe(1);
    expect(await q.getWaitingCount()).toBe(2);
    await q.removeGlobalConcurrency();
    expect(await q.getGlobalConcurrency()).toBeNull();
    hold.open();
    await w.waitFor(async () => (await q.getCompletedCount()) === 3, 'all completed');
    expect(most).toBe(1);
  });

  it('getMeta reports paused; trimEvents trims approximately (whole stream nodes), so a short stream keeps all', async () => {
    const w = world();
    const q = w.queue('meta');
    await q.add('a', {});
    await q.add('b', {});
    expect((await q.getMeta()).paused).toBe(false);
    await q.pause();
    expect((await q.getMeta()).paused).toBe(true);
    expect(await q.trimEvents(1)).toBe(0);
    const qe = w.queueEvents('meta', { lastEventId: '0-0' });
    const seen: string[] = [];
    qe.on('paused', () => seen.push('paused'));
    qe.on('resumed', () => seen.push('resumed'));
    qe.on('added', ({ jobId }) => seen.push(`added:${jobId}`));
    await qe.waitUntilReady();
    await q.resume();
    await w.waitFor(() => seen.includes('resumed'), 'resumed read');
    expect(seen).toEqual(['added:1', 'added:2', 'paused', 'resumed']);
  });
});
