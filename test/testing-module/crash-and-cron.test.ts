import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ATOMIC_QUEUES_CLOCK, CronManagerService, QueueManagerService, WorkerManagerService, entityWorkerName, type Clock } from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule, TestClock, checkFifoPerEntity } from '@nestjs/atomic-queues/testing';

/** The app's usual wiring: the cron spawns one worker per order with pending jobs. */
@Injectable()
class OrderWorkers implements OnApplicationBootstrap {
  readonly done: string[] = [];
  constructor(
    private readonly cron: CronManagerService,
    private readonly queues: QueueManagerService,
    private readonly workers: WorkerManagerService,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.cron.registerEntityType({ entityType: 'order', onSpawnWorker: (id) => this.spawn(id) });
  }

  async spawn(orderId: string): Promise<void> {
    const queue = await this.queues.getOrCreateEntityQueue('order', orderId);
    await this.workers.createWorker({
      workerName: entityWorkerName('order', orderId),
      queueName: queue.name,
      processor: async (job) => {
        await this.clock.sleep(100);
        this.done.push(job.name);
      },
    });
  }
}

describe('AtomicQueuesTestHarness.crashWorker', () => {
  let moduleRef: TestingModule;
  afterEach(async () => {
    await moduleRef?.get(AtomicQueuesTestHarness).verify();
    await moduleRef?.close();
  });

  it('a crashed worker is seen dead after heartbeatTTL and its replacement (lease takeover) finishes the remaining jobs in order', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [AtomicQueuesTestingModule.forRoot({ enableCronManager: true, cronInterval: 5000, workerDefaults: { heartbeatTTL: 3, lockDuration: 5000 } })],
      providers: [OrderWorkers],
    }).compile();
    await moduleRef.init();
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    const clock = moduleRef.get(TestClock);
    const queues = moduleRef.get(QueueManagerService);
    const workers = moduleRef.get(WorkerManagerService);
    const app = moduleRef.get(OrderWorkers);
    const name = entityWorkerName('order', 'o1');

    for (const [seq, step] of ['s0', 's1', 's2', 's3'].entries()) await queues.addEntityJob('order', 'o1', step, { seq });
    await app.spawn('o1');
    await clock.advance(150); // s0 done, s1 in flight
    expect(app.done).toEqual(['s0']);

    const labels = () => clock.pending().map((t) => t.label ?? '');
    const ofWorker = (label: string) => label.includes(name) || label.includes('order-o1-queue');
    expect(labels().filter(ofWorker)).toEqual(['stalled check order-o1-queue', 'lock renewal order-o1-queue']);
    await harness.crashWorker(name);
    expect(workers.getLocalWorkerNames()).toEqual([]);
    // a dead process runs nothing: no stalled check or lock renewal of its worker is left on the clock
    expect(labels().filter(ofWorker)).toEqual([]);
    expect(await workers.workerExists(name)).toBe(true); // heartbeat still valid: nobody knows yet
    await clock.advance(3 * 1000 - 300);
    expect(workers.getLocalWorkerNames()).toEqual([]); // before the TTL: no takeover
    // Once the heartbeat has expired, the next poll reaps the dead worker's lease and the dispatcher starts a
    // replacement through the registration, with no cron tick (the cron ticks every 5 s here).
    await clock.advance(300 + 1000 + 1);
    expect(workers.getLocalWorkerNames()).toEqual([name]);

    await harness.runUntilIdle();
    // s1's attempt was cut off by the crash (its processor may still finish in this process, like a zombie write)
    // and re-run by the replacement; everything after it ran once, in order.
    const completed = harness.history().filter((e) => e.outcome === 'completed').map((e) => e.jobName);
    expect(completed).toEqual(['s0', 's1', 's2', 's3']);
    const history = harness.history();
    expect(history.filter((e) => e.outcome === 'crashed').map((e) => e.jobName)).toEqual(['s1']);
    expect(checkFifoPerEntity(history).violations).toEqual([]);
    expect(history.every((e) => e.entityType === 'order' && e.entityId === 'o1')).toBe(true);
    expect(workers.getLocalWorkerNames()).toEqual([name]);
  });
});
