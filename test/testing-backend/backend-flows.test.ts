import { FlowProducer } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

/** In-memory specifics of flows; BullMQ's behaviour itself is in test/conformance/flows.conformance.test.ts. */
let w: World;
afterEach(async () => {
  await w?.close();
});

const flowProducer = (world: World) => {
  const flow = new FlowProducer({ connection: {} }, world.factory);
  return { flow, close: () => flow.close() };
};

describe('in-memory backend: flows', () => {
  it('a released parent with a delay is one clock.advance from waiting', async () => {
    w = createWorld();
    const q = w.queue('mf-delay');
    const { flow, close } = flowProducer(w);
    await flow.add({ name: 'p', queueName: 'mf-delay', opts: { jobId: 'p', delay: 5_000 }, children: [{ name: 'c', queueName: 'mf-delay', opts: { jobId: 'c' } }] });
    await close();
    const worker = w.worker('mf-delay', async () => 'ok', { autorun: false });
    const child = (await worker.getNextJob('t'))!;
    await child.moveToCompleted('ok', 't', false);
    expect(await q.getJobState('p')).toBe('delayed');
    await w.clock.advance(4_999);
    expect(await q.getJobState('p')).toBe('delayed');
    await w.clock.advance(1);
    expect(await q.getJobState('p')).toBe('waiting');
  });

  it("reports removed children in the store's removed event, queue by queue", async () => {
    w = createWorld();
    const q = w.queue('mf-rm');
    const { flow, close } = flowProducer(w);
    await flow.add({
      name: 'p',
      queueName: 'mf-rm',
      opts: { jobId: 'p' },
      children: [
        { name: 'a', queueName: 'mf-rm', opts: { jobId: 'a' } },
        { name: 'b', queueName: 'mf-rm-other', opts: { jobId: 'b' } },
      ],
    });
    await close();
    const removed: [string, readonly string[], string][] = [];
    w.store.on('removed', (queue, ids, how) => removed.push([queue, ids, how]));
    await (await q.getJob('p'))!.remove();
    expect(removed).toEqual([
      ['bull:mf-rm', ['a', 'p'], 'remove'],
      ['bull:mf-rm-other', ['b'], 'remove'],
    ]);
  });

  it('pages the pending children by count (cursor = next index, 0 at the end)', async () => {
    w = createWorld();
    const q = w.queue('mf-page');
    const { flow, close } = flowProducer(w);
    const kids = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `c${i}`, queueName: 'mf-page', opts: { jobId: `c${i}` } }));
    await flow.add({ name: 'big', queueName: 'mf-page', opts: { jobId: 'big' }, children: kids(150) });
    await flow.add({ name: 'small', queueName: 'mf-page', opts: { jobId: 'small' }, children: [{ name: 's', queueName: 'mf-page', opts: { jobId: 's' } }] });
    await close();
    const big = (await q.getJob('big'))!;
    const cursors: number[] = [];
    let cursor = 0;
    do {
      const page = await big.getDependencies({ unprocessed: { cursor, count: 60 } });
      expect(page.unprocessed).toHaveLength(Math.min(60, 150 - cursor));
      cursor = page.nextUnprocessedCursor!;
      cursors.push(cursor);
    } while (cursor !== 0);
    expect(cursors).toEqual([60, 120, 0]);
    const small = (await q.getJob('small'))!;
    expect(await small.getDependencies({ unprocessed: { cursor: 0, count: 5 } })).toEqual({ unprocessed: ['bull:mf-page:s'], nextUnprocessedCursor: 0 });
  });
});

describe('in-memory backend: a FlowProducer', () => {
  it('creates no queue of its own in the store (only the queues of its nodes)', async () => {
    w = createWorld();
    const { flow, close } = flowProducer(w);
    await flow.add({ name: 'p', queueName: 'mf-only', children: [{ name: 'c', queueName: 'mf-kids' }] });
    await close();
    expect(w.store.queueNames().sort()).toEqual(['bull:mf-kids', 'bull:mf-only']);
  });
});
