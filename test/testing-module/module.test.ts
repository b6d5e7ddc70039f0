import { Inject, Injectable, Module } from '@nestjs/common';
import { CommandBus, CommandHandler, CqrsModule, type ICommandHandler } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATOMIC_QUEUES_CLOCK,
  ATOMIC_QUEUES_CONFIG,
  AtomicQueuesConfigError,
  CronManagerService,
  IndexManagerService,
  JobProcessor,
  JobProcessorRegistry,
  QueueManagerService,
  ResourceLockService,
  WorkerManagerService,
  entityWorkerName,
  type ResolvedAtomicQueuesConfig,
} from '@nestjs/atomic-queues';
import {
  AtomicQueuesEmbeddedModule,
  AtomicQueuesTestHarness,
  AtomicQueuesTestingModule,
  InMemoryQueueDriver,
  TestClock,
} from '@nestjs/atomic-queues/testing';
// Internals the testing module replaces (not part of the public API).
import { SystemClock } from '../../src/ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER } from '../../src/ports/queue-driver.js';

class RecordStep {
  constructor(readonly orderId: string, readonly step: string) {}
}

@Injectable()
class OrderLog {
  readonly steps: string[] = [];
}

@CommandHandler(RecordStep)
class RecordStepHandler implements ICommandHandler<RecordStep> {
  constructor(private readonly log: OrderLog) {}
  async execute(c: RecordStep): Promise<void> {
    this.log.steps.push(`${c.orderId}:${c.step}`);
  }
}

/** Constructor-injected processor (CommandBus) dispatching to CQRS, as in an app. */
@JobProcessor('validate')
class ValidateOrderProcessor {
  constructor(private readonly commands: CommandBus) {}
  async process(job: Job<{ orderId: string }>): Promise<void> {
    await this.commands.execute(new RecordStep(job.data.orderId, 'validate'));
  }
}

@JobProcessor('pay')
class ProcessPaymentProcessor {
  constructor(private readonly commands: CommandBus) {}
  async process(job: Job<{ orderId: string }>): Promise<void> {
    await this.commands.execute(new RecordStep(job.data.orderId, 'pay'));
  }
}

/** An app service that injects the module's services by class, as it would with AtomicQueuesModule. */
@Injectable()
class OrderService {
  constructor(
    private readonly queues: QueueManagerService,
    private readonly workers: WorkerManagerService,
  ) {}
  async place(orderId: string): Promise<void> {
    await this.queues.addEntityJob('order', orderId, 'validate', { orderId });
    await this.queues.addEntityJob('order', orderId, 'pay', { orderId });
    const queue = await this.queues.getOrCreateEntityQueue('order', orderId);
    await this.workers.createWorker({ workerName: entityWorkerName('order', orderId), queueName: queue.name });
  }
}

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

describe('AtomicQueuesTestingModule: drop-in for AtomicQueuesModule', () => {
  it('DI smoke: constructor-injected @JobProcessor classes dispatch through CQRS on the testing module', async () => {
    moduleRef = await Test.createTestingModule({
      imports: [CqrsModule.forRoot(), AtomicQueuesTestingModule.forRoot({ enableCronManager: true })],
      providers: [OrderLog, RecordStepHandler, OrderService, ValidateOrderProcessor, ProcessPaymentProcessor],
    }).compile();
    await moduleRef.init();
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    expect(moduleRef.get(JobProcessorRegistry).getJobNames()).toEqual(['pay', 'validate']);

    await moduleRef.get(OrderService).place('o1');
    await harness.runUntilIdle();

    expect(moduleRef.get(OrderLog).steps).toEqual(['o1:validate', 'o1:pay']);
    expect(harness.history().map((e) => [e.entityType, e.entityId, e.jobName, e.outcome])).toEqual([
      ['order', 'o1', 'validate', 'completed'],
      ['order', 'o1', 'pay', 'completed'],
    ]);
    await harness.verify();
  });

  it('provides the production service classes as tokens, a TestClock as the clock port and an in-memory driver', async () => {
    moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot()] }).compile();
    for (const service of [QueueManagerService, WorkerManagerService, ResourceLockService, CronManagerService, IndexManagerService, JobProcessorRegistry]) {
      expect(moduleRef.get(service)).toBeInstanceOf(service);
    }
    const clock = moduleRef.get(TestClock);
    expect(moduleRef.get(ATOMIC_QUEUES_CLOCK)).toBe(clock);
    expect(moduleRef.get(ATOMIC_QUEUES_QUEUE_DRIVER)).toBeInstanceOf(InMemoryQueueDriver);
    expect(moduleRef.get(AtomicQueuesTestHarness).clock).toBe(clock);
  });

  it('applies the production defaults and validation (same resolveConfig)', async () => {
    moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ keyPrefix: 'tst', workerDefaults: { heartbeatTTL: 2 } })] }).compile();
    const config = moduleRef.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG);
    expect(config.keyPrefix).toBe('tst');
    expect(config.workerDefaults).toMatchObject({ heartbeatTTL: 2, heartbeatInterval: 1000, concurrency: 1 });

    const bad = (config: unknown) => Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot(config as never)] }).compile();
    await expect(bad({ workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 1000 } })).rejects.toThrow(
      /workerDefaults\.heartbeatInterval must be < heartbeatTTL \* 1000/,
    );
    await expect(bad({ keyPrefix: 'a:b' })).rejects.toThrow(AtomicQueuesConfigError);
    await expect(bad({ cronIntervall: 5 })).rejects.toThrow(/cronIntervall is not a known option; accepted: .*cronInterval/);
    await expect(bad({ redis: { url: 'redis://localhost:6379' } })).rejects.toThrow(/redis is not accepted by AtomicQueuesTestingModule/);
    await expect(bad({ clock: 'fake' })).rejects.toThrow(/clock must be one of 'test', 'system', a Clock instance/);
  });

  it('forRootAsync takes the config from a factory with injected dependencies', async () => {
    const SETTINGS = Symbol('settings');
    @Module({ providers: [{ provide: SETTINGS, useValue: { prefix: 'async-prefix' } }], exports: [SETTINGS] })
    class SettingsModule {}
    const shared = new TestClock({ start: 1_000 });
    moduleRef = await Test.createTestingModule({
      imports: [
        AtomicQueuesTestingModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SETTINGS],
          useFactory: async (s: { prefix: string }) => ({ keyPrefix: s.prefix, clock: shared }),
        }),
      ],
    }).compile();
    expect(moduleRef.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG).keyPrefix).toBe('async-prefix');
    expect(moduleRef.get(TestClock)).toBe(shared);
  });

  it('the embedded module runs the in-memory engine on the wall clock, without the harness', async () => {
    moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesEmbeddedModule.forRoot({ keyPrefix: 'demo' })] }).compile();
    await moduleRef.init();
    expect(moduleRef.get(ATOMIC_QUEUES_CLOCK)).toBeInstanceOf(SystemClock);
    expect(() => moduleRef!.get(AtomicQueuesTestHarness)).toThrow();
    const queues = moduleRef.get(QueueManagerService);
    const workers = moduleRef.get(WorkerManagerService);
    const queue = await queues.getOrCreateEntityQueue('order', 'e1');
    const done = new Promise<string>((resolve) => {
      void workers.createWorker({ workerName: 'order-e1-worker', queueName: queue.name, processor: async (job) => resolve(job.name) });
    });
    await queues.addJob(queue.name, 'hello', {});
    await expect(done).resolves.toBe('hello');
  });
});

describe('injecting the clock port in app code', () => {
  it('an app provider sees the TestClock through ATOMIC_QUEUES_CLOCK', async () => {
    @Injectable()
    class UsesClock {
      constructor(@Inject(ATOMIC_QUEUES_CLOCK) readonly clock: { now(): number }) {}
    }
    moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot()], providers: [UsesClock] }).compile();
    const clock = moduleRef.get(TestClock);
    await clock.advance(1234);
    expect(moduleRef.get(UsesClock).clock.now()).toBe(clock.now());
  });
});
