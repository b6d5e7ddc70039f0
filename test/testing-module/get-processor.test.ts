import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { JobProcessor, JobProcessorRegistry, QueueManagerService, WorkerManagerService } from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';

@Injectable()
class Processed {
  readonly lines: string[] = [];
}

@JobProcessor('order.validate')
class ValidateOrderProcessor {
  constructor(private readonly processed: Processed) {}
  async process(job: Job<{ orderId: string }>): Promise<void> {
    this.processed.lines.push(`validate ${job.data.orderId}`);
  }
}

/** Only `handle(job)`: getProcessor wraps it as `{ process }`. */
@JobProcessor('order.pay')
class PayOrderHandler {
  constructor(private readonly processed: Processed) {}
  async handle(job: Job<{ orderId: string }>): Promise<void> {
    this.processed.lines.push(`pay ${job.data.orderId}`);
  }
}

/** The worker code of the design document, verbatim inside `processor`. */
@Injectable()
class OrderWorkerService {
  constructor(
    private readonly workerManager: WorkerManagerService,
    private readonly jobRegistry: JobProcessorRegistry,
  ) {}

  async startWorker(orderId: string, queueName: string): Promise<void> {
    await this.workerManager.createWorker({
      workerName: `order-${orderId}-worker`,
      queueName,
      processor: async (job) => {
        const processor = this.jobRegistry.getProcessor(job.name);
        if (!processor) throw new Error(`No processor for job: ${job.name}`);
        await processor.process(job);
      },
    });
  }
}

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

describe("the design's worker code: getProcessor(job.name).process(job)", () => {
  it('processes every job through createWorker on the testing module', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [AtomicQueuesTestingModule.forRoot()],
      providers: [Processed, ValidateOrderProcessor, PayOrderHandler, OrderWorkerService],
    }).compile();
    await moduleRef.init();
    const queues = moduleRef.get(QueueManagerService);
    const harness = moduleRef.get(AtomicQueuesTestHarness);

    const queue = await queues.getOrCreateEntityQueue('order', '123');
    await queues.addJob(queue.name, 'order.validate', { orderId: '123' });
    await queues.addJob(queue.name, 'order.pay', { orderId: '123' });
    await moduleRef.get(OrderWorkerService).startWorker('123', queue.name);
    await harness.runUntilIdle();

    expect(moduleRef.get(Processed).lines).toEqual(['validate 123', 'pay 123']);
    expect(harness.history().map((e) => [e.jobName, e.outcome])).toEqual([
      ['order.validate', 'completed'],
      ['order.pay', 'completed'],
    ]);
    await harness.verify();
  });

  it('a job without a processor fails with the error the snippet throws', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [AtomicQueuesTestingModule.forRoot()],
      providers: [Processed, OrderWorkerService],
    }).compile();
    await moduleRef.init();
    const queues = moduleRef.get(QueueManagerService);
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    const queue = await queues.getOrCreateEntityQueue('order', '9');
    await queues.addJob(queue.name, 'order.unknown', { orderId: '9' });
    await moduleRef.get(OrderWorkerService).startWorker('9', queue.name);
    harness.expectFailure('order.unknown');
    await harness.runUntilIdle();
    expect(harness.history().map((e) => [e.jobName, e.outcome, e.error])).toEqual([['order.unknown', 'failed', 'No processor for job: order.unknown']]);
    await harness.verify();
  });
});
