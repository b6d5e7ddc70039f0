import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { QueueManagerService } from '../../src/queues/queue-manager.service.js';
import { JobProcessorRegistry } from '../../src/registry/job-processor.registry.js';
import { WorkerManagerService } from '../../src/workers/worker-manager.service.js';
import { entityWorkerName } from '../../src/config/keys.js';
import { TestClock } from '../clock/test-clock.js';
import type { JobExecution } from '../history.js';
import { AtomicQueuesTestingModule, type AtomicQueuesTestingConfig } from '../module/atomic-queues-testing.module.js';
import type { AtomicQueueSystem } from '../property/system.js';
import type { EntityRef, JobStreamScenario, StreamJob } from '../property/streams.js';
import { AtomicQueuesTestHarness } from './test-harness.js';

export interface TestingModuleSystemOptions {
  /** Module configuration (validated like AtomicQueuesModule's). Default: {@link PROPERTY_MODULE_CONFIG}. */
  config?: Omit<AtomicQueuesTestingConfig, 'clock'>;
  /** Job name of the generated jobs (a processor is registered for it). Default 'stream-job'. */
  jobName?: string;
  /** Nest logger for the application context. Default false (silent). */
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
}

/** Fast heartbeats, locks and cron ticks: crashes are detected and recovered within a few simulated seconds. */
export const PROPERTY_MODULE_CONFIG: Omit<AtomicQueuesTestingConfig, 'clock'> = Object.freeze({
  enableCronManager: true,
  cronInterval: 200,
  workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 250, lockDuration: 1000, stalledInterval: 250 },
});

/** An {@link AtomicQueueSystem} on the REAL services of a fresh AtomicQueuesTestingModule; `close()` ends it. */
export interface TestingModuleSystem extends AtomicQueueSystem {
  readonly app: INestApplicationContext;
  readonly harness: AtomicQueuesTestHarness;
  readonly clock: TestClock;
  history(): JobExecution[];
  close(): Promise<void>;
}

/**
 * Plays generated job streams (testing/property) against the module's real services on the in-memory backend:
 * enqueues through QueueManagerService (attempts = scenario.maxAttempts, in-place retries), a registered processor
 * that sleeps `durationMs` on the TestClock and fails its first `failTimes` attempts, one worker per entity started
 * on enqueue and by the cron (which also replaces crashed workers), crashes through `harness.crashWorker`.
 */
export async function createTestingModuleSystem(scenario: JobStreamScenario, options: TestingModuleSystemOptions = {}): Promise<TestingModuleSystem> {
  const jobName = options.jobName ?? 'stream-job';
  // The testing module itself is the root (NestJS 11 wants a module there, not a bare `{ imports }` object).
  const app = await NestFactory.createApplicationContext(AtomicQueuesTestingModule.forRoot({ ...(options.config ?? PROPERTY_MODULE_CONFIG), clock: 'test' }), {
    logger: options.logger ?? false,
  });
  const queues = app.get(QueueManagerService);
  const workers = app.get(WorkerManagerService);
  const harness = app.get(AtomicQueuesTestHarness);
  const clock = app.get(TestClock);
  const attemptOf = new Map<string, number>();
  const key = (queueName: string, jobId: string) => `${queueName}\u0000${jobId}`;
  workers.observe((e) => e.phase === 'start' && attemptOf.set(key(e.queueName, e.job.id), e.attempt));

  app.get(JobProcessorRegistry).register(jobName, async (job) => {
    const data = job.data as StreamJob;
    const attempt = attemptOf.get(key(job.queueName, String(job.id))) ?? 1;
    await clock.sleep(data.durationMs);
    if (attempt <= data.failTimes) throw new Error(`planned failure ${attempt}/${data.failTimes}`);
  });

  const ensureWorker = async ({ entityType, entityId }: EntityRef): Promise<void> => {
    const queue = await queues.getOrCreateEntityQueue(entityType, entityId);
    await workers.createWorker({ workerName: entityWorkerName(entityType, entityId), queueName: queue.name });
  };
  const cron = app.get(CronManagerService);
  for (const entityType of new Set(scenario.entities.map((e) => e.entityType))) {
    cron.registerEntityType({ entityType, onSpawnWorker: (entityId) => ensureWorker({ entityType, entityId }) });
  }

  return {
    app,
    harness,
    clock,
    async enqueue(job) {
      const { entityType, entityId, jobId, seq, failTimes, durationMs } = job;
      await queues.addEntityJob(entityType, entityId, jobName, { entityType, entityId, seq, failTimes, durationMs }, { jobId, attempts: scenario.maxAttempts });
      await ensureWorker(job);
    },
    advance: (ms) => clock.advance(ms),
    async crash(entity) {
      const name = entityWorkerName(entity.entityType, entity.entityId);
      if (workers.getLocalWorkerNames().includes(name)) await harness.crashWorker(name);
    },
    runUntilIdle: () => harness.runUntilIdle().then(() => undefined),
    history: () => harness.history(),
    now: () => clock.now(),
    close: () => app.close(),
  };
}
