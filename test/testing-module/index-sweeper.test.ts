import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  IndexManagerService,
  IndexSweeperService,
  QueueManagerService,
  WorkerManagerService,
  entityQueueName,
} from '@nestjs/atomic-queues';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../../src/ports/redis.js';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule, TestClock } from '@nestjs/atomic-queues/testing';

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function start(interval = 1000) {
  moduleRef = await Test.createTestingModule({
    imports: [AtomicQueuesTestingModule.forRoot({ keyPrefix: 'mem', indexSweep: { interval, entityRetentionMs: 10_000 } })],
  }).compile();
  await moduleRef.init();
  const m = moduleRef;
  return {
    clock: m.get(TestClock),
    harness: m.get(AtomicQueuesTestHarness),
    queues: m.get(QueueManagerService),
    workers: m.get(WorkerManagerService),
    index: m.get(IndexManagerService),
    sweeper: m.get(IndexSweeperService),
    redis: m.get<RedisClient>(ATOMIC_QUEUES_REDIS),
  };
}

describe('IndexSweeperService in AtomicQueuesTestingModule (in-memory store, TestClock)', () => {
  it('sweeps on the TestClock: repairs a job left indexed, retires the idle entity, and a later job still runs', async () => {
    const t = await start();
    expect(t.sweeper.isRunning).toBe(true);
    const queueName = entityQueueName('order', 'o1');
    const ran: string[] = [];
    const first = await t.queues.addEntityJob('order', 'o1', 'first', {});
    await t.workers.createWorker({ workerName: 'o1-w', queueName, processor: async (job) => void ran.push(job.name) });
    await t.harness.runUntilIdle();
    expect(ran).toEqual(['first']);
    expect(await t.index.getEntitiesWithJobs('order')).toEqual({});

    // A process killed between the job's completion and its unindex: the job is still counted.
    await t.index.indexJob('order', 'o1', first.id);
    expect(await t.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
    await t.clock.advance(1000); // one periodic sweep
    expect(await t.index.getEntitiesWithJobs('order')).toEqual({});

    await t.workers.closeWorker('o1-w');
    expect(t.queues.openQueueNames()).toEqual([queueName]);
    expect(t.harness.store.queue(`mem:${queueName}`).count('completed')).toBe(1);
    await t.clock.advance(11_000);
    expect(t.queues.openQueueNames()).toEqual([]);
    expect(await t.index.getEntityQueues('order')).toEqual({});
    expect(t.harness.store.queue(`mem:${queueName}`).count('completed')).toBe(0); // kept jobs went with the queue
    expect((await t.redis.keys('mem:*')).sort()).toEqual(['mem:idx:types']);

    // The entity comes back: its queue is set up again and the job runs.
    await t.queues.addEntityJob('order', 'o1', 'second', {});
    await t.workers.createWorker({ workerName: 'o1-w2', queueName, processor: async (job) => void ran.push(job.name) });
    await t.harness.runUntilIdle();
    expect(ran).toEqual(['first', 'second']);
    expect(await t.index.getQueueEntity(queueName)).toEqual({ entityType: 'order', entityId: 'o1' });
  });

  it('keeps an entity whose queue holds an unfinished job', async () => {
    const t = await start();
    await t.queues.addEntityJob('order', 'o1', 'later', {}, { delay: 60_000 });
    await t.index.unindexJob('order', 'o1', (await (await t.queues.getOrCreateEntityQueue('order', 'o1')).getJobs(['delayed']))[0]!.id!);
    await t.clock.advance(20_000);
    const report = await t.sweeper.sweep();
    expect(report.retired).toEqual([]);
    expect(await t.queues.getJobCounts(entityQueueName('order', 'o1'))).toMatchObject({ delayed: 1 });
  });

  it('an add started at any point of a retirement (every interleaving of their steps) keeps its job', async () => {
    const t = await start(0);
    const outcomes = new Set<string>();
    for (let ticks = 0; ticks < 60; ticks++) {
      const id = `e${ticks}`;
      await t.queues.getOrCreateEntityQueue('order', id);
      await t.clock.advance(11_000);
      const sweeping = t.sweeper.sweep();
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      const added = await t.queues.addEntityJob('order', id, 'late', {});
      outcomes.add((await sweeping).retired.length > 0 ? 'retired, then set up again' : 'retirement refused');
      const queue = await t.queues.getOrCreateEntityQueue('order', id);
      expect(await queue.getJobState(added.id)).toBe('waiting');
      expect((await t.index.getEntitiesWithJobs('order'))[id]).toBe(1);
      expect(await t.index.getQueueEntity(queue.name)).toEqual({ entityType: 'order', entityId: id });
      expect(await queue.getGlobalConcurrency()).toBe(1);
    }
    expect([...outcomes].sort()).toEqual(['retired, then set up again', 'retirement refused']);
  });

  it('an add whose cached Queue object is closed by a sweep between its index step and queue.add goes through a fresh one', async () => {
    const t = await start(0);
    await t.queues.addEntityJob('order', 'o1', 'first', {});
    const queueName = entityQueueName('order', 'o1');
    const indexEntityJob = t.index.indexEntityJob.bind(t.index);
    t.index.indexEntityJob = async (...args) => {
      const indexed = await indexEntityJob(...args);
      await t.queues.closeQueue(queueName); // what the sweep does to a Queue of a retired entity
      return indexed;
    };
    const added = await t.queues.addEntityJob('order', 'o1', 'second', {});
    const queue = await t.queues.getOrCreateEntityQueue('order', 'o1');
    expect(await queue.getJobState(added.id)).toBe('waiting');
    expect(await t.index.getEntitiesWithJobs('order')).toEqual({ o1: 2 });
  });
});
