import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, expect, it } from 'vitest';
import { CronManagerService, QueueManagerService, WorkerManagerService, entityWorkerName } from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule, TestClock } from '@nestjs/atomic-queues/testing';

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

it('one meaning per name: the clock runs foreground timers, the harness runs jobs until idle (and deletes nothing)', async () => {
  moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ enableCronManager: true, cronInterval: 1000 })] }).compile();
  await moduleRef.init();
  const harness = moduleRef.get(AtomicQueuesTestHarness);
  const clock = moduleRef.get(TestClock);
  const queues = moduleRef.get(QueueManagerService);
  const workers = moduleRef.get(WorkerManagerService);
  moduleRef.get(CronManagerService).registerEntityType({
    entityType: 'order',
    onSpawnWorker: async (orderId) => {
      const queue = await queues.getOrCreateEntityQueue('order', orderId);
      await workers.createWorker({ workerName: entityWorkerName('order', orderId), queueName: queue.name, processor: async () => clock.sleep(10) });
    },
  });
  const { queueName } = await queues.addEntityJob('order', 'o1', 'ship', {});

  // The module's timers (cron ticks, heartbeats, block timeouts, stalled checks) are background timers: the
  // clock's call is about timers only and returns at once, the job still waiting for the cron to spawn its worker.
  const before = clock.now();
  await clock.runForegroundTimers();
  expect(harness.pendingJobs()).toHaveLength(1);
  expect(harness.history()).toEqual([]);
  expect(clock.now()).toBe(before);

  // The harness's call runs the jobs (the cron tick spawns the worker) and returns the history.
  const history = await harness.runUntilIdle();
  expect(history.map((e) => [e.jobName, e.outcome])).toEqual([['ship', 'completed']]);
  expect(harness.pendingJobs()).toEqual([]);
  expect(await queues.getJobCounts(queueName)).toMatchObject({ completed: 1, waiting: 0, delayed: 0 });

  // The ambiguous names are gone: TestClock has no runUntilIdle, the harness no drain (BullMQ's drain deletes jobs).
  expect('runUntilIdle' in clock).toBe(false);
  expect('drain' in harness).toBe(false);
  await harness.verify();
});
