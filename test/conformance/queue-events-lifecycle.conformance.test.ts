import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';
import { eventsOf, recordQueueEvents } from './support.js';

const ALL = ['added', 'waiting', 'active', 'completed', 'failed', 'delayed', 'removed', 'drained', 'retries-exhausted', 'progress', 'paused', 'resumed', 'cleaned', 'duplicated'];

describeOnBothBackends('conformance: QueueEvents payloads of a job lifecycle', (world) => {
  it('added → waiting → active → progress → completed, then drained', async () => {
    const w = world();
    const { seen } = await recordQueueEvents(w, 'qe-life', ALL);
    const q = w.queue('qe-life');
    const job = await q.add('life', { n: 2 });
    w.worker('qe-life', async (j) => {
      await j.updateProgress(50);
      await j.updateProgress({ step: 'two' });
      return { doubled: j.data.n * 2 };
    });
    await w.waitFor(() => seen.some((e) => e.event === 'drained'), 'drained');
    expect(eventsOf(seen, job.id)).toEqual([
      'added:name=life',
      'waiting',
      'active:prev=waiting',
      'progress:data=50',
      'progress:data=[object Object]',
      'completed:prev=active,returnvalue=[object Object]',
    ]);
    const completed = seen.find((e) => e.event === 'completed')!;
    expect(completed.args.returnvalue).toEqual({ doubled: 4 });
    expect(seen.find((e) => e.event === 'progress' && typeof e.args.data === 'object')!.args.data).toEqual({ step: 'two' });
    expect(eventsOf(seen).at(-1)).toBe('drained');
  });

  it('a failing job with attempts: delayed retry, failed with its reason, retries-exhausted with attemptsMade', async () => {
    const w = world();
    const { seen } = await recordQueueEvents(w, 'qe-fail', ALL);
    const q = w.queue('qe-fail');
    const job = await q.add('doomed', {}, { attempts: 2, backoff: { type: 'fixed', delay: 200 } });
    w.worker('qe-fail', async (j) => {
      throw new Error(`boom ${j.attemptsMade}`);
    });
    await w.waitFor(() => seen.some((e) => e.event === 'retries-exhausted'), 'retries exhausted');
    expect(eventsOf(seen, job.id)).toEqual([
      'added:name=doomed',
      'waiting',
      'active:prev=waiting',
      'delayed:delay=*',
      'waiting:prev=delayed',
      'active:prev=waiting',
      'failed:failedReason=boom 1,prev=active',
      'retries-exhausted:attemptsMade=2',
    ]);
    expect(await q.getJobState(job.id!)).toBe('failed');
  });

  it('delayed, removed, paused/resumed, cleaned and duplicated events', async () => {
    const w = world();
    const { seen } = await recordQueueEvents(w, 'qe-misc', ALL);
    const q = w.queue('qe-misc');
    const delayed = await q.add('later', {}, { delay: 60_000 });
    const plain = await q.add('plain', {}, { jobId: 'fixed-id' });
    await q.add('plain-again', {}, { jobId: 'fixed-id' });
    const storedDelayed = await q.getJob(delayed.id!);
    await q.pause();
    await q.resume();
    await q.remove(delayed.id!);
    expect(await q.clean(0, 10, 'wait')).toEqual([plain.id]);
    await w.waitFor(() => seen.some((e) => e.event === 'cleaned'), 'cleaned');
    expect(eventsOf(seen)).toEqual([
      'added:name=later',
      'delayed:delay=*',
      'added:name=plain',
      'waiting',
      'duplicated',
      'paused',
      'resumed',
      'removed:prev=delayed',
      'cleaned:count=1',
    ]);
    // The 'delayed' payload is the due time: the stored job's timestamp + its delay.
    const delayedEvent = seen.find((e) => e.event === 'delayed')!;
    expect(Number(delayedEvent.args.delay)).toBe(storedDelayed!.timestamp + 60_000);
    expect(await q.getJob(delayed.id!)).toBeUndefined();
  });
});
