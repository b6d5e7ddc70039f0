import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueManagerService, WorkerManagerService, entityWorkerName } from '@nestjs/atomic-queues';
import { AtomicQueuesHarnessError, AtomicQueuesTestHarness, AtomicQueuesTestingModule, TestClock, type JobExecution } from '@nestjs/atomic-queues/testing';

let moduleRef: TestingModule;
let harness: AtomicQueuesTestHarness;
let clock: TestClock;
let queues: QueueManagerService;
let workers: WorkerManagerService;

beforeEach(async () => {
  moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ keyPrefix: 'h' })] }).compile();
  await moduleRef.init();
  harness = moduleRef.get(AtomicQueuesTestHarness);
  clock = moduleRef.get(TestClock);
  queues = moduleRef.get(QueueManagerService);
  workers = moduleRef.get(WorkerManagerService);
});
afterEach(async () => {
  await moduleRef.close();
});

async function startWorker(entityId: string, processor: (name: string, data: any) => Promise<void>): Promise<string> {
  const queue = await queues.getOrCreateEntityQueue('order', entityId);
  await workers.createWorker({ workerName: entityWorkerName('order', entityId), queueName: queue.name, processor: (job) => processor(job.name, job.data) });
  return queue.name;
}

describe('AtomicQueuesTestHarness history', () => {
  it('records every attempt in the shared history format, on the TestClock', async () => {
    const t0 = clock.now();
    let calls = 0;
    const queueName = await startWorker('o1', async () => {
      await clock.sleep(40);
      if (++calls === 1) throw new Error('flaky');
    });
    const a = await queues.addJob(queueName, 'charge', { seq: 0 }, { attempts: 2, backoff: { type: 'fixed', delay: 1000 } });
    const history = await harness.runUntilIdle();
    const base = { entityType: 'order', entityId: 'o1', queue: queueName, jobId: a.id, jobName: 'charge', seq: 0, worker: 'order-o1-worker', node: expect.any(String) };
    expect(history).toEqual<JobExecution[]>([
      { ...base, attempt: 1, start: t0, end: t0 + 40, outcome: 'failed', error: 'flaky' },
      { ...base, attempt: 2, start: t0 + 1040, end: t0 + 1080, outcome: 'completed' },
    ]);
    harness.expectFailure('charge');
    await harness.verify();
  });

  it('runUntilIdle jumps over delays without real waiting', async () => {
    const done: string[] = [];
    const queueName = await startWorker('o2', async (name) => void done.push(name));
    await queues.addJob(queueName, 'later', {}, { delay: 60_000 });
    await queues.addJob(queueName, 'now', {});
    const t0 = clock.now();
    const real0 = Date.now();
    await harness.runUntilIdle();
    expect(done).toEqual(['now', 'later']);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(60_000);
    expect(Date.now() - real0).toBeLessThan(30_000); // far less than the 60 s the clock moved
  });
});

describe('AtomicQueuesTestHarness.verify', () => {
  it('reports jobs left waiting, naming the queue, job ids and names', async () => {
    const queue = await queues.getOrCreateEntityQueue('order', 'idle');
    const job = await queues.addJob(queue.name, 'ship', {});
    const error = await harness.verify().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicQueuesHarnessError);
    expect((error as Error).message).toContain(`1 job(s) not settled (call harness.runUntilIdle() first?):\n  order-idle-queue: 1 wait (${job.id} ship)`);
  });

  it('runUntilIdle gives up after maxMs when no worker takes the jobs, listing them', async () => {
    const queue = await queues.getOrCreateEntityQueue('order', 'orphan');
    await queues.addJob(queue.name, 'pack', {});
    await startWorker('busy', async () => undefined); // a live worker elsewhere keeps timers running
    await expect(harness.runUntilIdle({ maxMs: 5_000 })).rejects.toThrow(
      /runUntilIdle: still busy after \d+ ms of clock time \(options\.maxMs = 5000\); jobs left:\n {2}order-orphan-queue: 1 wait \(\S+ pack\)\nlive workers on this node: order-busy-worker/,
    );
  });

  it('fails on a processor that threw unexpectedly, and accepts it once expected (name, RegExp or predicate)', async () => {
    const queueName = await startWorker('o3', async (name) => {
      if (name.startsWith('bad')) throw new Error(`${name} exploded`);
    });
    await queues.addJob(queueName, 'bad-1', {});
    await queues.addJob(queueName, 'good', {});
    await queues.addJob(queueName, 'bad-2', {});
    await harness.runUntilIdle();
    await expect(harness.verify()).rejects.toThrow(/2 unexpected processor failure\(s\)[^]*bad-1: order\/o3 job \S+ seq 0 attempt 1 .* failed \(error "bad-1 exploded"\)[^]*bad-2:/);
    harness.expectFailure('bad-1');
    await expect(harness.verify()).rejects.toThrow(/1 unexpected processor failure\(s\)[^]*bad-2/);
    harness.expectFailure((e) => e.error === 'bad-2 exploded');
    await harness.verify();
    harness.expectFailure(/^bad-/);
    await harness.verify();
  });

  it('rejects bad arguments with readable errors', async () => {
    await expect(harness.crashWorker('nope')).rejects.toThrow("crashWorker('nope'): no live worker of that name on this node; live workers: none");
    expect(() => harness.expectFailure('' as never)).toThrow(/matcher must be a job name, a RegExp or a predicate/);
    await expect(harness.runUntilIdle({ maxMs: -1 })).rejects.toThrow(/options\.maxMs must be a finite number >= 0, got -1/);
  });
});
