import { afterEach, describe, expect, it } from 'vitest';
import type { StoreAddedJob, StoreRemoval } from '../../testing/backend/index.js';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

const HOUR = 3_600_000;

describe('in-memory backend: deduplication', () => {
  it('a deduplication ttl runs on the store clock', async () => {
    w = createWorld();
    const q = w.queue('ttl');
    const a = await q.add('a', {}, { deduplication: { id: 'd', ttl: HOUR } });
    await w.clock.advance(HOUR - 1);
    expect((await q.add('b', {}, { deduplication: { id: 'd', ttl: HOUR } })).id).toBe(a.id);
    await w.clock.advance(1);
    expect(await q.getDeduplicationJobId('d')).toBeNull();
  });

  it('store observers: a deduplicated add is not an `added` job; a replaced job is `removed` (deduplicate); a kept job is `added` when created', async () => {
    w = createWorld();
    const added: string[] = [];
    const removed: [readonly string[], StoreRemoval][] = [];
    w.store.on('added', (_queue: string, job: StoreAddedJob) => added.push(`${job.id}:${job.name}`));
    w.store.on('removed', (_queue: string, ids: readonly string[], how: StoreRemoval) => removed.push([ids, how]));
    const q = w.queue('observed');

    await q.add('a', {}, { deduplication: { id: 's' } });
    await q.add('b', {}, { deduplication: { id: 's' } });
    expect(added).toEqual(['1:a']);

    await q.add('c', {}, { delay: 1000, deduplication: { id: 'r', replace: true } });
    await q.add('d', {}, { delay: 1000, deduplication: { id: 'r', replace: true } });
    expect(added).toEqual(['1:a', '3:c', '4:d']);
    expect(removed).toEqual([[['3'], 'deduplicate']]);

    const worker = w.worker('observed', null);
    const k = await q.add('k1', {}, { deduplication: { id: 'k', keepLastIfActive: true } });
    await q.remove('1'); // make k1 the next job to take
    const active = (await worker.getNextJob('tok', { block: false }))!;
    expect(active.id).toBe(k.id);
    await q.add('k2', {}, { deduplication: { id: 'k', keepLastIfActive: true } });
    expect(added.at(-1)).toBe(`${k.id}:k1`);
    await active.moveToCompleted('ok', 'tok', false);
    expect(added.at(-1)).toBe('6:k2');
  });

  it('a stale key (no expiry, its job gone as after an outage) is taken over by the next add', async () => {
    w = createWorld();
    const q = w.queue('stale');
    const a = await q.add('a', {}, { deduplication: { id: 'st' } });
    const state = w.store.queue('bull:stale');
    state.jobs.delete(a.id!); // the job hash lost, the key left behind
    expect(await q.getDeduplicationJobId('st')).toBe(a.id);
    const b = await q.add('b', {}, { deduplication: { id: 'st' } });
    expect(b.id).not.toBe(a.id);
    expect(await q.getDeduplicationJobId('st')).toBe(b.id);
    expect(state.getJob(b.id!)?.name).toBe('b');
  });

  it('obliterate releases the ids its jobs held', async () => {
    w = createWorld();
    const q = w.queue('obl');
    await q.add('a', {}, { deduplication: { id: 'o', ttl: HOUR } });
    await q.pause();
    await q.obliterate();
    expect(await q.getDeduplicationJobId('o')).toBeNull();
  });

  it('replace with keepLastIfActive drops the stored next job of the replaced holder', async () => {
    w = createWorld();
    const q = w.queue('rk');
    const opts = { delay: 1000, deduplication: { id: 'x', replace: true, keepLastIfActive: true } };
    const a = await q.add('a', {}, opts);
    const b = await q.add('b', {}, opts);
    expect(b.id).not.toBe(a.id);
    expect(await q.getDeduplicationJobId('x')).toBe(b.id);
    expect(await q.getJobCounts('delayed')).toEqual({ delayed: 1 });
  });
});
