import type { QueueEvents } from 'bullmq';
import { expect, it } from 'vitest';
import { describeOnBothBackends, type BackendWorld } from './backends.js';

interface Deduplicated {
  jobId: string;
  deduplicationId: string;
  deduplicatedJobId: string;
}

/**
 * QueueEvents recording the `deduplicated` and `removed` events. It reads the stream from its start
 * (`lastEventId: '0-0'`), so no event of the test is missed however late its first read is.
 */
async function recordEvents(w: BackendWorld, name: string) {
  const qe: QueueEvents = w.queueEvents(name, { lastEventId: '0-0' });
  const deduplicated: Deduplicated[] = [];
  const removed: { jobId: string; prev: string }[] = [];
  /** Both kinds, in stream order. */
  const order: string[] = [];
  qe.on('deduplicated', (args) => {
    deduplicated.push({ ...args });
    order.push(`deduplicated:${args.jobId}`);
  });
  qe.on('removed', ({ jobId, prev }) => {
    removed.push({ jobId, prev });
    order.push(`removed:${jobId}`);
  });
  await qe.waitUntilReady();
  return { deduplicated, removed, order };
}

describeOnBothBackends('conformance: deduplication', (world) => {
  it('simple mode: an add with a held id returns the holder, stores nothing and emits `deduplicated`; completion releases the id', async () => {
    const w = world();
    const q = w.queue('simple');
    const events = await recordEvents(w, 'simple');
    const a = await q.add('a', { v: 1 }, { deduplication: { id: 'x' } });
    const b = await q.add('b', { v: 2 }, { deduplication: { id: 'x' } });
    expect(b.id).toBe(a.id);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await q.getDeduplicationJobId('x')).toBe(a.id);
    expect((await q.getJob(a.id!))?.data).toEqual({ v: 1 });
    expect((await q.getJob(a.id!))?.deduplicationId).toBe('x');
    await w.waitFor(() => events.deduplicated.length === 1, 'deduplicated event');
    // jobId: the holder; deduplicatedJobId: the id the refused add was given (the id counter moved on).
    expect(events.deduplicated).toEqual([{ jobId: a.id, deduplicationId: 'x', deduplicatedJobId: '2' }]);

    w.worker('simple', async () => 'done');
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'holder completed');
    expect(await q.getDeduplicationJobId('x')).toBeNull();
    const c = await q.add('c', {}, { deduplication: { id: 'x' } });
    expect(c.id).toBe('3');
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'next one completed');
  });

  it('a failed holder releases the id too', async () => {
    const w = world();
    const q = w.queue('fail');
    const a = await q.add('a', {}, { deduplication: { id: 'f' } });
    w.worker('fail', async () => {
      throw new Error('boom');
    });
    await w.waitFor(async () => (await q.getFailedCount()) === 1, 'holder failed');
    expect(await q.getDeduplicationJobId('f')).toBeNull();
    expect((await q.add('again', {}, { deduplication: { id: 'f' } })).id).not.toBe(a.id);
  });

  it('ttl mode: the id stays held for ttl ms, even after the holder completed', async () => {
    const w = world();
    const q = w.queue('ttl');
    const opts = { deduplication: { id: 't', ttl: 1000 } };
    const a = await q.add('a', {}, opts);
    expect((await q.add('b', {}, opts)).id).toBe(a.id);
    const worker = w.worker('ttl', null);
    const taken = (await worker.getNextJob('tok', { block: false }))!;
    await taken.moveToCompleted('done', 'tok', false);
    expect(await taken.getState()).toBe('completed');
    expect(await q.getDeduplicationJobId('t')).toBe(a.id);
    expect((await q.add('c', {}, opts)).id).toBe(a.id);
    await w.advance(1100);
    expect(await q.getDeduplicationJobId('t')).toBeNull();
    const d = await q.add('d', {}, opts);
    expect(d.id).not.toBe(a.id);
    expect(await q.getDeduplicationJobId('t')).toBe(d.id);
  });

  it('extend: each deduplicated add restarts the ttl', async () => {
    const w = world();
    const q = w.queue('extend');
    const opts = { deduplication: { id: 'e', ttl: 800, extend: true } };
    const a = await q.add('a', {}, opts);
    await w.advance(400);
    expect((await q.add('b', {}, opts)).id).toBe(a.id); // restarts the 800 ms
    await w.advance(500); // 900 ms after a: held only thanks to the extension
    expect(await q.getDeduplicationJobId('e')).toBe(a.id);
    await w.advance(400);
    expect(await q.getDeduplicationJobId('e')).toBeNull();
  });

  it('replace: a delayed holder is removed and the new job takes its place (`removed` then `deduplicated`)', async () => {
    const w = world();
    const q = w.queue('replace');
    const events = await recordEvents(w, 'replace');
    const opts = { delay: 5000, deduplication: { id: 'r', replace: true } };
    const a = await q.add('a', { v: 1 }, opts);
    const b = await q.add('b', { v: 2 }, opts);
    expect(b.id).not.toBe(a.id);
    expect(await q.getJob(a.id!)).toBeUndefined();
    expect(await q.getDelayed()).toHaveLength(1);
    expect((await q.getJob(b.id!))?.data).toEqual({ v: 2 });
    expect(await q.getDeduplicationJobId('r')).toBe(b.id);
    await w.waitFor(() => events.deduplicated.length === 1 && events.removed.length === 1, 'events');
    expect(events.removed).toEqual([{ jobId: a.id, prev: 'delayed' }]);
    expect(events.deduplicated).toEqual([{ jobId: b.id, deduplicationId: 'r', deduplicatedJobId: a.id }]);
    expect(events.order).toEqual([`removed:${a.id}`, `deduplicated:${b.id}`]);
  });

  it('replace: a holder that is not delayed stays, and the add returns it', async () => {
    const w = world();
    const q = w.queue('replace-waiting');
    const a = await q.add('a', { v: 1 }, { deduplication: { id: 'rw', replace: true } });
    const b = await q.add('b', { v: 2 }, { deduplication: { id: 'rw', replace: true } });
    expect(b.id).toBe(a.id);
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 0 });
    expect((await q.getJob(a.id!))?.data).toEqual({ v: 1 });
  });

  it('reschedule: a delayed holder keeps its id and data and takes the new delay', async () => {
    const w = world();
    const q = w.queue('resched');
    const events = await recordEvents(w, 'resched');
    const a = await q.add('a', { v: 1 }, { delay: 300, deduplication: { id: 's', reschedule: true } });
    const b = await q.add('b', { v: 2 }, { delay: 5000, deduplication: { id: 's', reschedule: true } });
    expect(b.id).toBe(a.id);
    const held = (await q.getJob(a.id!))!;
    expect(held.delay).toBe(5000);
    expect(held.data).toEqual({ v: 1 });
    await w.advance(600);
    expect(await held.getState()).toBe('delayed');
    await w.waitFor(() => events.deduplicated.length === 1, 'deduplicated event');
    expect(events.deduplicated).toEqual([{ jobId: a.id, deduplicationId: 's', deduplicatedJobId: '2' }]);
  });

  it('keepLastIfActive: adds while the holder is active keep only the latest, created when the holder finishes', async () => {
    const w = world();
    const q = w.queue('keep');
    const events = await recordEvents(w, 'keep');
    const opts = (v: number) => ['job', { v }, { deduplication: { id: 'k', keepLastIfActive: true } }] as const;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    w.worker('keep', async (job) => {
      seen.push(job.data.v);
      if (job.data.v === 1) await held;
    });
    const a = await q.add(...opts(1));
    await w.waitFor(async () => (await q.getActiveCount()) === 1, 'holder active');
    expect((await q.add(...opts(2))).id).toBe(a.id);
    expect((await q.add(...opts(3))).id).toBe(a.id);
    expect(await q.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 1 });
    release();
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'holder and the kept job completed');
    expect(seen).toEqual([1, 3]);
    // The kept job has the id its add was given (the third add: '3').
    const kept = (await q.getJob('3'))!;
    expect(kept.data).toEqual({ v: 3 });
    expect(kept.deduplicationId).toBe('k');
    expect(await q.getDeduplicationJobId('k')).toBeNull(); // released when the kept job completed
    await w.waitFor(() => events.deduplicated.length === 2, 'two deduplicated events');
    expect(events.deduplicated).toEqual([
      { jobId: a.id, deduplicationId: 'k', deduplicatedJobId: '2' },
      { jobId: a.id, deduplicationId: 'k', deduplicatedJobId: '3' },
    ]);
    // The id counter moved on for the re-created job too.
    expect((await q.add('next', {})).id).toBe('5');
  });

  it('keepLastIfActive: a failed holder also creates the kept job; the key has no expiry whatever the ttl', async () => {
    const w = world();
    const q = w.queue('keep-fail');
    const opts = (v: number) => ['job', { v }, { deduplication: { id: 'kf', ttl: 100, keepLastIfActive: true } }] as const;
    const a = await q.add(...opts(1));
    await w.advance(200);
    expect(await q.getDeduplicationJobId('kf')).toBe(a.id); // ttl ignored: held until a finishes
    const worker = w.worker('keep-fail', null);
    const taken = (await worker.getNextJob('tok', { block: false }))!;
    expect((await q.add(...opts(2))).id).toBe(a.id);
    await taken.moveToFailed(new Error('boom'), 'tok', false);
    const kept = (await q.getJob('2'))!;
    expect(kept.data).toEqual({ v: 2 });
    expect(await kept.getState()).toBe('waiting');
    expect(await q.getDeduplicationJobId('kf')).toBe('2');
  });

  it('removing the holder (remove, drain, clean) releases its id', async () => {
    const w = world();
    const q = w.queue('removal');
    const a = await q.add('a', {}, { deduplication: { id: 'r1' } });
    await a.remove();
    expect(await q.getDeduplicationJobId('r1')).toBeNull();

    await q.add('b', {}, { deduplication: { id: 'r2' } });
    await q.drain();
    expect(await q.getDeduplicationJobId('r2')).toBeNull();

    await q.add('c', {}, { deduplication: { id: 'r3', ttl: 60_000 } });
    await q.clean(0, 100, 'wait');
    expect(await q.getDeduplicationJobId('r3')).toBeNull();
  });

  it('job.removeDeduplicationKey only while the job holds the id; queue.removeDeduplicationKey always', async () => {
    const w = world();
    const q = w.queue('keys');
    const a = await q.add('a', {}, { deduplication: { id: 'j' } });
    const other = await q.add('o', {}, { deduplication: { id: 'other' } });
    const fetched = (await q.getJob(a.id!))!;
    expect(await fetched.removeDeduplicationKey()).toBe(true);
    expect(await fetched.removeDeduplicationKey()).toBe(false);
    expect(await q.getDeduplicationJobId('j')).toBeNull();
    const b = await q.add('b', {}, { deduplication: { id: 'j' } });
    expect(b.id).not.toBe(a.id);
    expect(await a.removeDeduplicationKey()).toBe(false); // b holds it now
    expect(await q.getDeduplicationJobId('j')).toBe(b.id);

    expect(await q.removeDeduplicationKey('other')).toBe(1);
    expect(await q.removeDeduplicationKey('other')).toBe(0);
    expect(await q.getDeduplicationJobId('other')).toBeNull();
    expect(await q.getJob(other.id!)).toBeDefined(); // only the key goes
    expect(await q.getDeduplicationJobId('never')).toBeNull();
    // The deprecated debounce names are the same calls.
    expect(await q.getDebounceJobId('j')).toBe(b.id);
    expect(await q.removeDebounceKey('j')).toBe(1);
    expect(await q.getDeduplicationJobId('j')).toBeNull();
  });

  it('addBulk deduplicates within the batch and against existing jobs', async () => {
    const w = world();
    const q = w.queue('bulk');
    const first = await q.add('first', {}, { deduplication: { id: 'bk' } });
    const jobs = await q.addBulk([
      { name: 'a', data: {}, opts: { deduplication: { id: 'bk' } } },
      { name: 'b', data: {}, opts: { deduplication: { id: 'other' } } },
      { name: 'c', data: {}, opts: { deduplication: { id: 'other' } } },
    ]);
    expect(jobs[0].id).toBe(first.id);
    expect(jobs[2].id).toBe(jobs[1].id);
    expect(await q.getWaitingCount()).toBe(2);
  });

  it('bad deduplication options are refused with BullMQ\'s errors', async () => {
    const w = world();
    const q = w.queue('bad');
    await expect(q.add('x', {}, { deduplication: {} as never })).rejects.toThrow('Deduplication id must be provided');
    await expect(q.add('x', {}, { debounce: { id: 'd' } } as never)).rejects.toThrow(
      'Debounce option has been removed. Use deduplication option instead',
    );
  });
});
