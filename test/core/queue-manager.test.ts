import { afterEach, describe, expect, it } from 'vitest';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { entityWorkerName } from '../../src/config/keys.js';
import { MAX_ENTITY_PART_LENGTH } from '../../src/validation.js';
import { makeCore, uniquePrefix, waitFor, type Core } from './support.js';

let core: Core;
afterEach(async () => core?.close());

describe('QueueManagerService', () => {
  it('creates one cached queue per entity, named ${type}-${id}-queue, with global concurrency 1 in Redis', async () => {
    core = makeCore();
    const [a, b] = await Promise.all([core.queues.getOrCreateEntityQueue('order', 'o1'), core.queues.getOrCreateEntityQueue('order', 'o1')]);
    expect(a).toBe(b);
    expect(a.name).toBe('order-o1-queue');
    expect(await core.queues.getOrCreateEntityQueue('order', 'o1')).toBe(a);
    await core.queues.getJobCounts(a.name); // calls through the service wait for the queue's setup
    expect(await a.getGlobalConcurrency()).toBe(1);
    expect(await core.index.getEntityQueues('order')).toEqual({ o1: 'order-o1-queue' });
    expect(await core.queues.getQueueEntity('order-o1-queue')).toEqual({ entityType: 'order', entityId: 'o1' });
    expect((await core.keys()).some((k) => k.startsWith(`${core.config.keyPrefix}:order-o1-queue:`))).toBe(true);
  });

  it('turns a queue object opened as plain into the entity queue (same object, concurrency set, indexed)', async () => {
    core = makeCore();
    const plain = core.queues.getOrCreateQueue('order-o1-queue');
    expect(await core.queues.getQueueEntity('order-o1-queue')).toBeUndefined();
    const entity = await core.queues.getOrCreateEntityQueue('order', 'o1');
    expect(entity).toBe(plain);
    expect(await entity.getGlobalConcurrency()).toBe(1);
    await core.queues.addJob('order-o1-queue', 'x', {});
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
  });

  it('uses workerDefaults.concurrency as the global concurrency when raised', async () => {
    core = makeCore({ workerDefaults: { concurrency: 3 } });
    const q = await core.queues.getOrCreateEntityQueue('order', 'o1');
    expect(await q.getGlobalConcurrency()).toBe(3);
  });

  it('adds jobs with module defaults under per-call options, indexes entity jobs, counts them', async () => {
    core = makeCore({ queueDefaults: { defaultJobOptions: { attempts: 4, backoff: { type: 'fixed', delay: 7 }, removeOnComplete: 10 } } });
    const q = await core.queues.getOrCreateEntityQueue('order', 'o1');
    const j1 = await core.queues.addJob(q.name, 'create', { n: 1 });
    const j2 = await core.queues.addJob(q.name, 'update', { n: 2 }, { attempts: 2, priority: 0 });
    const j3 = await core.queues.addEntityJob('order', 'o2', 'create', { n: 3 });
    expect(j1).toMatchObject({ name: 'create', queueName: 'order-o1-queue' });
    expect(j3.queueName).toBe('order-o2-queue');
    const job1 = await q.getJob(j1.id);
    const job2 = await q.getJob(j2.id);
    expect(job1?.data).toEqual({ n: 1 });
    expect(job1?.opts).toMatchObject({ attempts: 4, backoff: { type: 'fixed', delay: 7 }, removeOnComplete: 10 });
    expect(job2?.opts).toMatchObject({ attempts: 2, backoff: { type: 'fixed', delay: 7 } });
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ o1: 2, o2: 1 });
    expect(await core.queues.getJobCounts(q.name)).toEqual({ waiting: 2, active: 0, delayed: 0, completed: 0, failed: 0, prioritized: 0 });
  });

  it('recognises an entity queue created by another process: its jobs are indexed there too', async () => {
    const prefix = uniquePrefix();
    const producer = makeCore({}, prefix);
    core = makeCore({}, prefix);
    try {
      // The producer's first add completes the queue's setup (index entry included).
      await producer.queues.addJob(producer.queues.getOrCreateEntityQueue('order', 'o9').name, 'first', {});
      const job = await core.queues.addJob('order-o9-queue', 'x', {});
      expect(await core.index.getEntitiesWithJobs('order')).toEqual({ o9: 2 });
      expect(await core.queues.getQueueEntity('order-o9-queue')).toEqual({ entityType: 'order', entityId: 'o9' });
      expect(job.queueName).toBe('order-o9-queue');
    } finally {
      await producer.queues.closeAll();
      await producer.driver.close();
      producer.redis.disconnect();
      producer.subscriber.disconnect();
    }
  });

  it('takes the longest entity parts end to end: their queue and worker names stay valid names', async () => {
    core = makeCore();
    const [type, id] = ['t'.repeat(MAX_ENTITY_PART_LENGTH), 'i'.repeat(MAX_ENTITY_PART_LENGTH)];
    const added = await core.queues.addEntityJob(type, id, 'x', { n: 1 });
    expect(added.queueName).toHaveLength(2 * MAX_ENTITY_PART_LENGTH + '--queue'.length);
    const ran: unknown[] = [];
    const result = await core.workers.createWorker({
      workerName: entityWorkerName(type, id),
      queueName: added.queueName,
      entity: { entityType: type, entityId: id },
      processor: async (job) => void ran.push(job.data),
    });
    expect(result.created).toBe(true);
    await waitFor(() => ran.length === 1, 10_000, 'the job of the longest entity to run');
    expect(ran).toEqual([{ n: 1 }]);
  });

  it('a given jobId is kept and a duplicate add is counted once', async () => {
    core = makeCore();
    const q = await core.queues.getOrCreateEntityQueue('order', 'o1');
    const a = await core.queues.addJob(q.name, 'x', {}, { jobId: 'custom-1' });
    const b = await core.queues.addJob(q.name, 'x', {}, { jobId: 'custom-1' });
    expect([a.id, b.id]).toEqual(['custom-1', 'custom-1']);
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
  });

  it('plain queues are not indexed and get no global concurrency', async () => {
    core = makeCore();
    const job = await core.queues.addJob('plain', 'x', { a: 1 });
    expect(job.queueName).toBe('plain');
    expect(await core.queues.getOrCreateQueue('plain').getGlobalConcurrency()).toBeNull();
    expect((await core.queues.getJobCounts('plain')).waiting).toBe(1);
    expect(await core.index.getEntitiesWithJobs('plain')).toEqual({});
  });

  it('closeQueue closes and forgets the queue object but keeps its jobs', async () => {
    core = makeCore();
    const q = await core.queues.getOrCreateEntityQueue('order', 'o1');
    await core.queues.addJob(q.name, 'x', {});
    await core.queues.closeQueue(q.name);
    expect(core.queues.openQueueNames()).toEqual([]);
    await core.queues.closeQueue('never-opened'); // no-op
    const again = await core.queues.getOrCreateEntityQueue('order', 'o1');
    expect(again).not.toBe(q);
    expect((await core.queues.getJobCounts(again.name)).waiting).toBe(1);
  });

  describe('rejects bad input before anything is written to Redis', () => {
    const badEntities: Array<[string, string, RegExp]> = [
      ['', 'o1', /entityType: must not be empty/],
      ['order', '', /entityId: must not be empty/],
      ['order', 'x'.repeat(257), /entityId: must be at most 256/],
      ['order', 'a:b', /entityId: must not contain ':'/],
      ['ord{er}', '1', /entityType: must not contain/],
      ['order', 'a b', /entityId/],
      ['order', 'a\u0007', /entityId/],
    ];
    it.each(badEntities)('getOrCreateEntityQueue(%j, %j)', async (type, id, rule) => {
      core = makeCore();
      // Thrown synchronously (the call returns the Queue itself, not a promise).
      expect(() => core.queues.getOrCreateEntityQueue(type, id)).toThrow(AtomicQueuesValidationError);
      expect(() => core.queues.getOrCreateEntityQueue(type, id)).toThrow(rule);
      await expect(core.queues.addEntityJob(type, id, 'x', {})).rejects.toThrow(AtomicQueuesValidationError);
      expect(await core.keys()).toEqual([]);
    });

    it('job name, data, options', async () => {
      core = makeCore();
      const q = core.queues.getOrCreateEntityQueue('order', 'o1');
      await core.queues.getJobCounts(q.name); // its setup (concurrency, index entry) is written by now
      const before = await core.keys();
      await expect(core.queues.addJob(q.name, '', {})).rejects.toThrow(/jobName: must be a non-empty string/);
      await expect(core.queues.addJob(q.name, 42 as never, {})).rejects.toThrow(/jobName/);
      await expect(core.queues.addJob(q.name, 'x', { n: 1n })).rejects.toThrow(/data\.n: must be JSON-serializable/);
      await expect(core.queues.addJob(q.name, 'x', undefined)).rejects.toThrow(/data/);
      await expect(core.queues.addJob(q.name, 'x', {}, { attempts: 0 })).rejects.toThrow(/opts\.attempts/);
      await expect(core.queues.addJob(q.name, 'x', {}, { backoff: { type: 'linear', delay: 1 } })).rejects.toThrow(/Invalid opts\.backoff\.type: must be one of 'fixed' \| 'exponential'/);
      await expect(core.queues.addJob('', 'x', {})).rejects.toThrow(/queueName/);
      await expect(core.queues.addJob(q.name, 'x', {}, { jobId: 'has space' })).rejects.toThrow(/opts\.jobId/);
      expect(await core.keys()).toEqual(before);
      expect(await core.index.getEntitiesWithJobs('order')).toEqual({});
    });
  });
});
