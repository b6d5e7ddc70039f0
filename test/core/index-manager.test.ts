import { afterEach, describe, expect, it } from 'vitest';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { makeCore, type Core } from './support.js';

let core: Core;
afterEach(async () => core?.close());

describe('IndexManagerService', () => {
  it('counts pending jobs per entity, each job once, and discounts each job exactly once', async () => {
    core = makeCore();
    const { index } = core;
    expect(await index.indexJob('order', 'o1', 'j1')).toBe(1);
    expect(await index.indexJob('order', 'o1', 'j2')).toBe(2);
    expect(await index.indexJob('order', 'o1', 'j2')).toBe(2); // same job reported twice
    expect(await index.indexJob('order', 'o2', 'j1')).toBe(1);
    expect(await index.indexJob('user', 'o1', 'j9')).toBe(1);
    expect(await index.getEntitiesWithJobs('order')).toEqual({ o1: 2, o2: 1 });

    expect(await index.unindexJob('order', 'o1', 'j1')).toBe(true);
    expect(await index.unindexJob('order', 'o1', 'j1')).toBe(false); // completion reported twice
    expect(await index.unindexJob('order', 'o1', 'unknown')).toBe(false);
    expect(await index.getEntitiesWithJobs('order')).toEqual({ o1: 1, o2: 1 });
    await index.unindexJob('order', 'o1', 'j2');
    expect(await index.getEntitiesWithJobs('order')).toEqual({ o2: 1 });
    expect(await index.getEntitiesWithJobs('user')).toEqual({ o1: 1 });
    expect(await index.getEntitiesWithJobs('nothing')).toEqual({});
  });

  it('keeps the count exact under concurrent duplicate reports', async () => {
    core = makeCore();
    const ids = Array.from({ length: 50 }, (_, i) => `j${i}`);
    await Promise.all([...ids, ...ids].map((id) => core.index.indexJob('order', 'o1', id)));
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ o1: 50 });
    const removed = await Promise.all([...ids, ...ids, ...ids].map((id) => core.index.unindexJob('order', 'o1', id)));
    expect(removed.filter(Boolean)).toHaveLength(50);
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({});
  });

  it('stores keys under ${keyPrefix}:idx:${entityType}:…', async () => {
    core = makeCore();
    const p = core.config.keyPrefix;
    await core.index.indexJob('order', 'o1', 'j1');
    await core.index.indexEntityQueue('order', 'o1', 'order-o1-queue');
    await core.index.setWorkerState('order', 'o1', 'order-o1-worker', 'running');
    expect(await core.keys()).toEqual([
      `${p}:idx:order:jobs`, `${p}:idx:order:jobs:o1`, `${p}:idx:order:queues`, `${p}:idx:order:touched`, `${p}:idx:order:workers`, `${p}:idx:types`, `${p}:queue-entity`,
    ]);
    expect(await core.redis.type(`${p}:idx:order:jobs:o1`)).toBe('zset'); // jobId → time it was indexed
    expect(await core.index.getQueueEntity('order-o1-queue')).toEqual({ entityType: 'order', entityId: 'o1' });
    expect(await core.index.getQueueEntity('other')).toBeUndefined();
  });

  it('tracks entity queues and worker states, and cleans up one entity only', async () => {
    core = makeCore({ nodeId: 'node-x' });
    const { index } = core;
    await index.indexEntityQueue('order', 'o1', 'order-o1-queue');
    await index.indexEntityQueue('order', 'o2', 'order-o2-queue');
    expect(await index.getEntityQueues('order')).toEqual({ o1: 'order-o1-queue', o2: 'order-o2-queue' });

    const before = Date.now();
    await index.setWorkerState('order', 'o1', 'w1', 'starting');
    await index.setWorkerState('order', 'o1', 'w1', 'running');
    await index.setWorkerState('order', 'o1', 'w:with:colons', 'closing', 'node-y');
    await index.setWorkerState('order', 'o2', 'w2', 'running');
    const o1 = await index.getEntityWorkerStates('order', 'o1');
    expect(o1.map(({ updatedAt, ...rest }) => rest)).toEqual([
      { entityId: 'o1', workerName: 'w1', state: 'running', nodeId: 'node-x' },
      { entityId: 'o1', workerName: 'w:with:colons', state: 'closing', nodeId: 'node-y' },
    ]);
    expect(o1[0].updatedAt).toBeGreaterThanOrEqual(before);
    expect((await index.getEntityWorkerStates('order')).map((s) => s.workerName)).toEqual(['w1', 'w:with:colons', 'w2']);

    await index.indexJob('order', 'o1', 'j1');
    await index.indexJob('order', 'o2', 'j1');
    await index.cleanupEntityIndices('order', 'o1');
    expect(await index.getEntitiesWithJobs('order')).toEqual({ o2: 1 });
    expect(await index.getEntityQueues('order')).toEqual({ o2: 'order-o2-queue' });
    expect(await core.redis.hexists(`${core.config.keyPrefix}:queue-entity`, 'order-o1-queue')).toBe(0);
    // still recognised by its conventional name (the only indexed type that fits is 'order')
    expect(await index.getQueueEntity('order-o1-queue')).toEqual({ entityType: 'order', entityId: 'o1' });
    expect(await index.getQueueEntity('user-o1-queue')).toBeUndefined(); // no such type indexed
    expect(await index.getQueueEntity('order-o2-queue')).toEqual({ entityType: 'order', entityId: 'o2' });
    expect((await index.getEntityWorkerStates('order')).map((s) => s.workerName)).toEqual(['w2']);
    expect(await index.indexJob('order', 'o1', 'j1')).toBe(1); // the job set was removed too

    await index.removeWorkerState('order', 'o2', 'w2');
    expect(await index.getEntityWorkerStates('order')).toEqual([]);
  });

  it('rejects bad input before touching Redis', async () => {
    core = makeCore();
    await expect(core.index.indexJob('or:der', 'o1', 'j')).rejects.toThrow(AtomicQueuesValidationError);
    await expect(core.index.indexJob('order', 'o 1', 'j')).rejects.toThrow(/entityId/);
    await expect(core.index.indexJob('order', 'o1', '')).rejects.toThrow(/jobId/);
    await expect(core.index.getEntitiesWithJobs('')).rejects.toThrow(/entityType/);
    await expect(core.index.setWorkerState('order', 'o1', 'w', 'dead' as never)).rejects.toThrow(/state: must be one of starting, running, closing, closed/);
    await expect(core.index.indexEntityQueue('order', 'o1', 'a queue')).rejects.toThrow(/queueName/);
    expect(await core.keys()).toEqual([]);
  });
});
