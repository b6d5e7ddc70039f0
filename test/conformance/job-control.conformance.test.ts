import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';

describeOnBothBackends('conformance: Job control (promote, changeDelay, changePriority, retry, data, logs)', (world) => {
  it('promote: a delayed job goes to wait; a job that is not delayed is refused', async () => {
    const w = world();
    const q = w.queue('promote');
    const delayed = await q.add('later', {}, { delay: 60_000 });
    const plain = await q.add('now', {});
    await delayed.promote();
    expect(await q.getJobState(delayed.id!)).toBe('waiting');
    expect((await q.getWaiting()).map((j) => j.name)).toEqual(['now', 'later']);
    await expect(plain.promote()).rejects.toThrow(`Job ${plain.id} is not in the delayed state. promote`);
    await expect((await q.getJob(delayed.id!))!.promote()).rejects.toThrow(`Job ${delayed.id} is not in the delayed state. promote`);
  });

  it('changeDelay: moves the due time of a delayed job; refused for a job that is not delayed or missing', async () => {
    const w = world();
    const q = w.queue('change-delay');
    const delayed = await q.add('later', {}, { delay: 60_000 });
    const plain = await q.add('now', {});
    await delayed.changeDelay(200);
    expect((await q.getJob(delayed.id!))?.delay).toBe(200);
    await expect(plain.changeDelay(100)).rejects.toThrow(`Job ${plain.id} is not in the delayed state. changeDelay`);
    const seen: string[] = [];
    w.worker('change-delay', async (job) => {
      seen.push(job.name);
    });
    await w.waitFor(() => seen.length === 2, 'both ran');
    expect(seen).toEqual(['now', 'later']);
    await q.remove(delayed.id!);
    await expect(delayed.changeDelay(100)).rejects.toThrow(`Missing key for job ${delayed.id}. changeDelay`);
  });

  it('changePriority: re-queues by priority; lifo puts the job first within its priority; priority 0 + lifo to the head of wait', async () => {
    const w = world();
    const q = w.queue('prio');
    const a = await q.add('a', {}, { priority: 5 });
    const b = await q.add('b', {}, { priority: 5 });
    const c = await q.add('c', {}, { priority: 5 });
    const d = await q.add('d', {});
    const e = await q.add('e', {});
    await c.changePriority({ priority: 5, lifo: true });
    await b.changePriority({ priority: 1 });
    await e.changePriority({ priority: 0, lifo: true });
    expect((await q.getJob(b.id!))?.priority).toBe(1);
    expect((await q.getJob(c.id!))?.opts.lifo).toBeUndefined(); // the options stay as added
    const order: string[] = [];
    w.worker('prio', async (job) => {
      order.push(job.name);
    });
    await w.waitFor(() => order.length === 5, 'all ran');
    expect(order).toEqual(['e', 'd', 'b', 'c', 'a']);
    await expect(a.changePriority({ priority: 2 })).resolves.toBeUndefined(); // finished: only the stored priority changes
    await q.remove(a.id!);
    await expect(a.changePriority({ priority: 3 })).rejects.toThrow(`Missing key for job ${a.id}. changePriority`);
  });

  it('job.retry: a failed job runs again; a completed job is not in the failed state; a missing job is refused', async () => {
    const w = world();
    const q = w.queue('retry');
    let fail = true;
    w.worker('retry', async (job) => {
      if (job.name === 'flaky' && fail) throw new Error('first time');
      return job.name;
    });
    const flaky = await q.add('flaky', {});
    const fine = await q.add('fine', {});
    await w.waitFor(async () => (await q.getFailedCount()) === 1 && (await q.getCompletedCount()) === 1, 'one failed, one completed');
    const completed = (await q.getJob(fine.id!))!;
    await expect(completed.retry('failed')).rejects.toThrow(`Job ${fine.id} is not in the failed state. reprocessJob`);
    fail = false;
    const failed = (await q.getJob(flaky.id!))!;
    expect(failed.attemptsMade).toBe(1);
    await failed.retry('failed', { resetAttemptsMade: true });
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'retried job completed');
    const done = (await q.getJob(flaky.id!))!;
    expect(done.returnvalue).toBe('flaky');
    expect(done.failedReason).toBeUndefined();
    expect(done.attemptsMade).toBe(1);
    await completed.retry('completed');
    await w.waitFor(async () => (await q.getJob(fine.id!))?.finishedOn !== undefined && (await q.getJobState(fine.id!)) === 'completed' && (await q.getJob(fine.id!))!.attemptsStarted === 2, 're-ran');
    await q.remove(fine.id!);
    await expect(completed.retry('completed')).rejects.toThrow(`Missing key for job ${fine.id}. reprocessJob`);
  });

  it('updateData, updateProgress, log / getJobLogs (paging, asc/desc, keepLogs) and clearLogs', async () => {
    const w = world();
    const q = w.queue('data');
    const job = await q.add('d', { v: 1 });
    await job.updateData({ v: 2 });
    await job.updateProgress({ pct: 10 });
    for (const line of ['one', 'two', 'three', 'four']) await job.log(line);
    const stored = (await q.getJob(job.id!))!;
    expect(stored.data).toEqual({ v: 2 });
    expect(stored.progress).toEqual({ pct: 10 });
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['one', 'two', 'three', 'four'], count: 4 });
    expect(await q.getJobLogs(job.id!, 1, 2)).toEqual({ logs: ['two', 'three'], count: 4 });
    expect(await q.getJobLogs(job.id!, 0, 1, false)).toEqual({ logs: ['four', 'three'], count: 4 });
    const kept = await q.add('k', {}, { keepLogs: 2 });
    for (const line of ['a', 'b', 'c']) await kept.log(line);
    expect(await q.getJobLogs(kept.id!)).toEqual({ logs: ['b', 'c'], count: 2 });
    await job.clearLogs(1);
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['four'], count: 1 });
    await job.clearLogs();
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: [], count: 0 });
    await q.remove(job.id!);
    await expect(job.updateData({ v: 3 })).rejects.toThrow(`Missing key for job ${job.id}. updateData`);
    await expect(job.updateProgress(1)).rejects.toThrow(`Missing key for job ${job.id}. updateProgress`);
    await expect(job.log('x')).rejects.toThrow(`Missing key for job ${job.id}. addLog`);
    expect(await q.getJobLogs('nope')).toEqual({ logs: [], count: 0 });
  });

  it('job state getters: isWaiting/isDelayed/isPrioritized/isCompleted/isFailed and getState of a missing job', async () => {
    const w = world();
    const q = w.queue('states');
    const waiting = await q.add('w', {});
    const delayed = await q.add('d', {}, { delay: 60_000 });
    const prioritized = await q.add('p', {}, { priority: 3 });
    expect(await waiting.isWaiting()).toBe(true);
    expect(await delayed.isDelayed()).toBe(true);
    expect(await prioritized.isWaiting()).toBe(false);
    expect(await prioritized.getState()).toBe('prioritized');
    expect(await q.getJobState('missing')).toBe('unknown');
    expect(await q.getJob('missing')).toBeUndefined();
    await q.remove(waiting.id!);
    expect(await waiting.getState()).toBe('unknown');
    expect(await waiting.isCompleted()).toBe(false);
    expect(await waiting.isFailed()).toBe(false);
  });
});
