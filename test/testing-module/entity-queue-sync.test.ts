import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { entityWorkerName, QueueManagerService, WorkerManagerService } from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function boot(): Promise<TestingModule> {
  moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot()] }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('getOrCreateEntityQueue without await (testing module)', () => {
  it("the design's snippet runs as written: the queue at once, jobs added by its name run in FIFO", async () => {
    const app = await boot();
    const queueManager = app.get(QueueManagerService);
    const queue = queueManager.getOrCreateEntityQueue('order', '123');
    expect('then' in queue).toBe(false);
    await queueManager.addJob(queue.name, 'validate', { orderId: '123' });
    await queueManager.addJob(queue.name, 'pay', { orderId: '123' });
    expect(await queue.getGlobalConcurrency()).toBe(1);
    const ran: string[] = [];
    await app.get(WorkerManagerService).createWorker({
      workerName: entityWorkerName('order', '123'),
      queueName: queue.name,
      processor: async (job) => void ran.push(job.name),
    });
    await app.get(AtomicQueuesTestHarness).runUntilIdle();
    expect(ran).toEqual(['validate', 'pay']);
  });

  it('awaiting it still works and returns the same object', async () => {
    const app = await boot();
    const queues = app.get(QueueManagerService);
    const a = queues.getOrCreateEntityQueue('order', 'o1');
    expect(await queues.getOrCreateEntityQueue('order', 'o1')).toBe(a);
    await queues.addEntityJob('order', 'o1', 'x', {});
    expect((await queues.getJobCounts(a.name)).waiting).toBe(1);
  });
});
