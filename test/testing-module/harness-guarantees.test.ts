import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueManagerService, WorkerManagerService, entityWorkerName } from '@nestjs/atomic-queues';
import {
  AtomicQueuesHarnessError,
  AtomicQueuesTestHarness,
  AtomicQueuesTestingModule,
  TestClock,
  checkFifoPerEntity,
  checkNoLostOrDuplicated,
  checkSingleWorkerPerEntity,
  type AtomicQueuesTestingConfig,
} from '@nestjs/atomic-queues/testing';

/** verify() checks the run itself: FIFO and one worker per entity, ranked by add order, and no lost job. No data.seq anywhere. */
let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function start(config: Omit<AtomicQueuesTestingConfig, 'clock'> = {}) {
  moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ keyPrefix: 'hg', ...config })] }).compile();
  await moduleRef.init();
  const harness = moduleRef.get(AtomicQueuesTestHarness);
  const clock = moduleRef.get(TestClock);
  const queues = moduleRef.get(QueueManagerService);
  const workers = moduleRef.get(WorkerManagerService);
  /** One worker for an order whose processor sleeps 100 ms on the clock and throws for names starting with 'bad'. */
  const startWorker = async (orderId: string) => {
    const queue = await queues.getOrCreateEntityQueue('order', orderId);
    await workers.createWorker({
      workerName: entityWorkerName('order', orderId),
      queueName: queue.name,
      processor: async (job) => {
        await clock.sleep(100);
        if (job.name.startsWith('bad')) throw new Error(`${job.name} exploded`);
      },
    });
    return queue.name;
  };
  return { harness, clock, queues, workers, startWorker };
}

const verifyError = async (harness: AtomicQueuesTestHarness): Promise<string> => {
  const error = await harness.verify().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AtomicQueuesHarnessError);
  return (error as Error).message;
};

describe('AtomicQueuesTestHarness checks its own history', () => {
  it('a correct run passes FIFO, single-worker and no-lost checks ranked by add order, without data.seq', async () => {
    const { harness, queues, workers, startWorker } = await start();
    const added: Record<string, string[]> = { o1: [], o2: [] };
    for (const step of ['validate', 'pay', 'reserve', 'ship']) {
      for (const orderId of ['o1', 'o2']) added[orderId]!.push((await queues.addEntityJob('order', orderId, step, { orderId })).id);
    }
    const bad = await queues.addEntityJob('order', 'o1', 'bad-refund', { orderId: 'o1' }, { attempts: 2 }); // fails for good
    const late = await queues.addEntityJob('order', 'o1', 'archive', {}, { delay: 5_000 }); // out of line on purpose
    const after = await queues.addEntityJob('order', 'o1', 'notify', {});
    const dropped = await queues.addEntityJob('order', 'o2', 'cancelled', {});
    const o2 = await queues.getOrCreateEntityQueue('order', 'o2');
    expect(await o2.remove(dropped.id)).toBe(1); // removed through the queue API: deliberate, not lost
    // A plain queue promises no order: two jobs at once on a concurrency-2 worker are fine.
    await workers.createWorker({ workerName: 'mailer', queueName: 'mail', config: { concurrency: 2 }, processor: () => moduleRef!.get(TestClock).sleep(50) });
    await queues.addJob('mail', 'send', {});
    await queues.addJob('mail', 'send', {});
    await startWorker('o1');
    await startWorker('o2');
    await harness.runUntilIdle();

    const history = harness.history();
    const enqueued = harness.enqueued();
    expect(history.some((e) => e.seq === undefined)).toBe(false);
    expect(enqueued.filter((j) => j.entityId === 'o1').map((j) => [j.jobId, j.seq, j.unordered])).toEqual([
      ...added.o1!.map((id, seq) => [id, seq, undefined]),
      [bad.id, 4, undefined],
      [late.id, 5, 'delay 5000'],
      [after.id, 6, undefined],
    ]);
    expect(enqueued.find((j) => j.jobId === added.o2![0])).toMatchObject({ entityType: 'order', entityId: 'o2', queue: 'order-o2-queue', jobName: 'validate', seq: 0 });

    const orders = history.filter((e) => e.entityType === 'order');
    const fifo = checkFifoPerEntity(orders, enqueued, { allowFinalFailures: true });
    expect(fifo.violations).toEqual([]);
    expect(fifo.stats).toMatchObject({ entities: 2, unknownJobs: 0, unordered: 1, checked: orders.length - 1 });
    // seq is filled from the add order, so the seq-ranked form works too where no job was added out of line
    expect(checkFifoPerEntity(orders.filter((e) => e.entityId === 'o2')).violations).toEqual([]);
    expect(checkSingleWorkerPerEntity(orders).ok).toBe(true);
    expect(checkNoLostOrDuplicated(enqueued, history).lost.map((l) => l.job.jobId).sort()).toEqual([bad.id, dropped.id].sort());

    const result = await harness.check();
    expect(result.ok).toBe(true);
    expect(result.noLost.excused.map((x) => [x.job.jobId, x.reason])).toEqual([
      [bad.id, expect.stringMatching(/^failed for good/)],
      [dropped.id, 'removed through the queue API (remove)'],
    ]);
    expect(result.noLost.stats).toMatchObject({ enqueued: 14, completed: 12, lost: 0, excused: 2 });

    // The only complaint is the unexpected failure; once expected, verify passes.
    const message = await verifyError(harness);
    expect(message).toContain('2 unexpected processor failure(s)');
    expect(message).not.toContain('guarantees');
    harness.expectFailure('bad-refund');
    await harness.verify();
  });

  it('verify fails naming entity, jobs and overlap when an entity runs two jobs at once (workerDefaults.concurrency 2)', async () => {
    const { harness, queues, startWorker } = await start({ workerDefaults: { concurrency: 2 } });
    const a = await queues.addEntityJob('order', 'c1', 'validate', {});
    const b = await queues.addEntityJob('order', 'c1', 'pay', {});
    await startWorker('c1');
    await harness.runUntilIdle();

    const message = await verifyError(harness);
    expect(message).toContain("the run broke the module's guarantees:");
    expect(message).toContain('single worker per entity violated: 1 overlapping pairs, up to 2 executions of one entity at once');
    expect(message).toMatch(new RegExp(`order/c1 job ${b.id} seq 1 attempt 1 \\[\\d+→\\d+\\] worker order-c1-worker\\S* completed overlaps order/c1 job ${a.id} seq 0 attempt 1`));
    expect(message).toMatch(new RegExp(`FIFO per entity violated: 1 violations \\(1 early-start\\)[^]*order/c1 job ${b.id} seq 1 .* started while an earlier job was still running: order/c1 job ${a.id} seq 0`));
  });

  it('verify fails naming a job lost inside the backend, and accepts one removed through the queue API', async () => {
    const { harness, queues, startWorker } = await start();
    const jobs = [];
    for (const step of ['validate', 'pay', 'ship']) jobs.push(await queues.addEntityJob('order', 'l1', step, {}));
    const [lost, kept, removed] = jobs as [(typeof jobs)[number], (typeof jobs)[number], (typeof jobs)[number]];
    harness.store.queue('hg:order-l1-queue').removeJob(lost.id); // the store drops it: no API call, a bug would look like this
    expect(await (await queues.getOrCreateEntityQueue('order', 'l1')).remove(removed.id)).toBe(1);
    await startWorker('l1');
    await harness.runUntilIdle();

    expect(harness.history().map((e) => [e.jobId, e.outcome])).toEqual([[kept.id, 'completed']]);
    const message = await verifyError(harness);
    expect(message).toContain(`lost: order/l1 job ${lost.id} seq 0 never ran`);
    expect(message).toContain(`order/l1: job ${lost.id} seq 0 never ran, but a later job ran: order/l1 job ${kept.id} seq 1`);
    expect(message).toContain(`excused (removed through the queue API (remove)): order/l1 job ${removed.id} seq 2`);
    expect(message).not.toContain('unexpected processor failure');
  });

  it('a job failed for good does not hold the next ones: verify needs only its expectFailure', async () => {
    const { harness, queues, startWorker } = await start({ queueDefaults: { defaultJobOptions: { removeOnFail: true } } });
    await queues.addEntityJob('order', 'f1', 'bad-charge', {}, { attempts: 3 });
    await queues.addEntityJob('order', 'f1', 'ship', {});
    await startWorker('f1');
    await harness.runUntilIdle();
    expect(harness.history().map((e) => [e.jobName, e.attempt, e.outcome])).toEqual([
      ['bad-charge', 1, 'failed'],
      ['bad-charge', 2, 'failed'],
      ['bad-charge', 3, 'failed'],
      ['ship', 1, 'completed'],
    ]);
    harness.expectFailure(/^bad-/);
    await harness.verify(); // removed on fail: still failed for good, not lost
    expect((await harness.check()).noLost.excused.map((x) => x.reason)).toEqual(['failed for good (removed on fail)']);
  });
});

describe('verify after a crash', () => {
  it('a job that stalled out (failed for good with no processor failure) is reported unless expected', async () => {
    const { harness, clock, queues, startWorker } = await start({ workerDefaults: { maxStalledCount: 0, heartbeatTTL: 2, lockDuration: 3000 } });
    const job = await queues.addEntityJob('order', 's1', 'charge', {});
    await queues.addEntityJob('order', 's1', 'ship', {});
    await startWorker('s1');
    await clock.advance(50); // charge in flight
    await harness.crashWorker(entityWorkerName('order', 's1'));
    await clock.advance(2_001); // heartbeat gone
    await startWorker('s1');
    await harness.runUntilIdle();
    expect(harness.history().map((e) => [e.jobName, e.outcome])).toEqual([
      ['charge', 'crashed'],
      ['ship', 'completed'],
    ]);
    const message = await verifyError(harness);
    expect(message).toContain(
      `1 job(s) failed for good without a processor failure (allow with harness.expectFailure):\n  order/s1 job ${job.id} charge seq 0: failed for good: job stalled more than allowable limit`,
    );
    expect(message).not.toContain('guarantees'); // failed for good: ship may run after it
    harness.expectFailure('charge');
    await harness.verify();
  });
});
