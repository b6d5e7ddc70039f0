import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATOMIC_QUEUES_REDIS,
  IndexManagerService,
  IndexSweeperService,
  QueueManagerService,
  WorkerManagerService,
  entityQueueName,
  type RedisClient,
} from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule, TestClock } from '@nestjs/atomic-queues/testing';

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function start() {
  moduleRef = await Test.createTestingModule({
    imports: [AtomicQueuesTestingModule.forRoot({ keyPrefix: 'mem', indexSweep: { interval: 1000, entityRetentionMs: 10_000 } })],
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
});
