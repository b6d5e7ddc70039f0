import { Module } from '@nestjs/common';
import { CommandBus, CommandHandler, CqrsModule, type ICommandHandler } from '@nestjs/cqrs';
import { Test, type TestingModule } from '@nestjs/testing';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  ATOMIC_QUEUES_CLOCK,
  ATOMIC_QUEUES_CONFIG,
  AtomicQueuesConfigError,
  AtomicQueuesModule,
  CronManagerService,
  DuplicateJobProcessorError,
  IndexManagerService,
  JobProcessor,
  JobProcessorRegistry,
  QueueManagerService,
  ResourceLockService,
  WorkerManagerService,
  type ResolvedAtomicQueuesConfig,
} from '../../src/index.js';
// Internals the module wires (not part of the public API).
import { RedisQueueDriver } from '../../src/drivers/redis-queue-driver.js';
import { SystemClock } from '../../src/ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER } from '../../src/ports/queue-driver.js';
import { ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_SUBSCRIBER } from '../../src/ports/redis.js';
import { deferred, FAST_WORKERS, scanKeys, uniquePrefix, waitFor } from './support.js';

const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
});

async function boot(metadata: Parameters<typeof Test.createTestingModule>[0]): Promise<TestingModule> {
  const app = await Test.createTestingModule(metadata).compile();
  apps.push(app);
  await app.init();
  return app;
}

const baseConfig = (keyPrefix = uniquePrefix()) => ({ redis: { url: inject('redisUrl') }, keyPrefix, workerDefaults: FAST_WORKERS, shutdownTimeoutMs: 5000 });

class ChargeCommand {
  constructor(readonly orderId: string) {}
}
const charged: string[] = [];
@CommandHandler(ChargeCommand)
class ChargeHandler implements ICommandHandler<ChargeCommand> {
  async execute(command: ChargeCommand): Promise<void> {
    charged.push(command.orderId);
  }
}

@JobProcessor('charge')
class ChargeProcessor {
  constructor(private readonly commands: CommandBus) {}
  async process(job: Job<{ orderId: string }>) {
    await this.commands.execute(new ChargeCommand(job.data.orderId));
    return 'ok';
  }
}

@JobProcessor('charge')
class OtherChargeProcessor {
  handle() {}
}

describe('AtomicQueuesModule', () => {
  it('forRoot provides every service, the resolved config and production ports', async () => {
    const app = await boot({ imports: [AtomicQueuesModule.forRoot(baseConfig())] });
    for (const service of [IndexManagerService, QueueManagerService, WorkerManagerService, JobProcessorRegistry, ResourceLockService, CronManagerService]) {
      expect(app.get(service)).toBeInstanceOf(service);
    }
    const config = app.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG);
    expect(config.workerDefaults.heartbeatTTL).toBe(1);
    expect(config.cronInterval).toBe(5000);
    expect(app.get(ATOMIC_QUEUES_CLOCK)).toBeInstanceOf(SystemClock);
    expect(app.get(ATOMIC_QUEUES_QUEUE_DRIVER)).toBeInstanceOf(RedisQueueDriver);
    expect(app.get(ATOMIC_QUEUES_REDIS)).not.toBe(app.get(ATOMIC_QUEUES_REDIS_SUBSCRIBER));
    expect(app.get(CronManagerService).isRunning).toBe(false);
  });

  it('discovers @JobProcessor providers that inject CommandBus; a worker without processor dispatches to them', async () => {
    const app = await boot({ imports: [CqrsModule.forRoot(), AtomicQueuesModule.forRoot(baseConfig())], providers: [ChargeProcessor, ChargeHandler] });
    expect(app.get(JobProcessorRegistry).getJobNames()).toEqual(['charge']);
    const queues = app.get(QueueManagerService);
    const job = await queues.addEntityJob('order', 'o-7', 'charge', { orderId: 'o-7' });
    await app.get(WorkerManagerService).createWorker({ workerName: 'order-o-7-worker', queueName: job.queueName });
    await waitFor(async () => (await queues.getJobCounts(job.queueName)).completed === 1);
    expect(charged).toContain('o-7');
    const stored = await (await queues.getOrCreateEntityQueue('order', 'o-7')).getJob(job.id);
    expect(stored?.returnvalue).toBe('ok');
  });

  it('two processors for one job name fail bootstrap naming both classes', async () => {
    const app = await Test.createTestingModule({ imports: [CqrsModule.forRoot(), AtomicQueuesModule.forRoot(baseConfig())], providers: [ChargeProcessor, OtherChargeProcessor] }).compile();
    apps.push(app);
    const err = await app.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DuplicateJobProcessorError);
    expect((err as Error).message).toMatch(/'charge'.*ChargeProcessor and OtherChargeProcessor/);
  });

  it('@JobProcessor rejects an empty job name at decoration time', () => {
    expect(() => JobProcessor('')).toThrow(/@JobProcessor\(jobName\): must be a non-empty string/);
  });

  it('invalid config fails bootstrap with AtomicQueuesConfigError', async () => {
    const err = await Test.createTestingModule({ imports: [AtomicQueuesModule.forRoot({ ...baseConfig(), workerDefaults: { heartbeatTTL: -1 } })] })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe('workerDefaults.heartbeatTTL');
  });

  it('forRootAsync builds the config from injected providers and starts the cron when enabled', async () => {
    const SETTINGS = Symbol('settings');
    @Module({ providers: [{ provide: SETTINGS, useValue: { url: inject('redisUrl'), prefix: uniquePrefix() } }], exports: [SETTINGS] })
    class SettingsModule {}
    const app = await boot({
      imports: [
        AtomicQueuesModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SETTINGS],
          useFactory: async (s: { url: string; prefix: string }) => ({ redis: { url: s.url }, keyPrefix: s.prefix, enableCronManager: true, cronInterval: 60_000 }),
        }),
      ],
    });
    expect(app.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG).enableCronManager).toBe(true);
    expect(app.get(CronManagerService).isRunning).toBe(true);
    await app.close();
    expect(app.get(CronManagerService).isRunning).toBe(false);
  });

  it('close(): in-flight job completes, heartbeats removed, own connections closed, the user connection left open', async () => {
    const url = inject('redisUrl');
    const userConnection = new Redis(url);
    const observer = new Redis(url);
    try {
      const keyPrefix = uniquePrefix();
      const nodeId = `node-${keyPrefix}`;
      const app = await boot({ imports: [AtomicQueuesModule.forRoot({ ...baseConfig(keyPrefix), redis: { connection: userConnection }, nodeId })] });
      expect(app.get(ATOMIC_QUEUES_REDIS)).toBe(userConnection);
      const queues = app.get(QueueManagerService);
      const workers = app.get(WorkerManagerService);
      const job = await queues.addEntityJob('order', 'o1', 'slow', {});
      const started = deferred();
      await workers.createWorker({
        workerName: 'order-o1-worker',
        queueName: job.queueName,
        processor: async () => {
          started.resolve();
          await new Promise((r) => setTimeout(r, 300));
        },
      });
      await started.promise;
      const ownClients = async () => ((await observer.client('LIST')) as string).split('\n').filter((l) => l.includes(`name=aq:${nodeId}:`)).length;
      // The subscriber, the heartbeat connection and the driver's shared queue and worker connections (commands use
      // the user's); no connection per worker.
      expect(await ownClients()).toBe(4);
      await app.close();
      expect(userConnection.status).toBe('ready');
      const q = new Queue(job.queueName, { connection: observer, prefix: keyPrefix });
      expect(await q.getJobCounts('completed', 'active', 'waiting')).toEqual({ completed: 1, active: 0, waiting: 0 });
      await q.close();
      expect(await scanKeys(observer, `${keyPrefix}:workers:*`)).toEqual([]);
      await waitFor(async () => (await ownClients()) === 0, 3000, 'module connections closed');
      const left = await scanKeys(observer, `${keyPrefix}:*`);
      if (left.length) await observer.del(...left);
    } finally {
      userConnection.disconnect();
      observer.disconnect();
    }
  });
});

