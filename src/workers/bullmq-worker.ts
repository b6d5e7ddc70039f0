import type { Logger } from '@nestjs/common';
import type { Job, Processor, Worker } from 'bullmq';
import type { WorkerDefaultsConfig } from '../config/atomic-queues-config.js';
import { isConnectionError } from '../drivers/redis-watch.js';
import type { JobWaiter } from '../engine/job-waiter.js';
import type { QueueDriver } from '../ports/queue-driver.js';

/** How the module's BullMQ Worker of one logical worker is built: not started (`autorun: false`). */
export interface BullWorkerSpec {
  queueName: string;
  workerName: string;
  prefix: string;
  settings: Required<WorkerDefaultsConfig>;
  /** The node runs BullMQ's stalled checks itself (NodeStallChecks): the Worker skips its own timer. */
  skipStalledCheck: boolean;
  /** Answers the Worker's waits for jobs in-process (no blocking connection of its own). */
  waiter: JobWaiter;
}

export function createBullWorker(driver: QueueDriver, spec: BullWorkerSpec, processor: Processor): Worker {
  const { settings } = spec;
  return driver.createWorker(
    spec.queueName,
    processor,
    {
      prefix: spec.prefix,
      name: spec.workerName,
      concurrency: settings.concurrency,
      stalledInterval: settings.stalledInterval,
      lockDuration: settings.lockDuration,
      maxStalledCount: settings.maxStalledCount,
      skipStalledCheck: spec.skipStalledCheck,
      autorun: false,
    },
    spec.waiter,
  );
}

export interface BullWorkerHooks {
  /** The job is done for good: completed, or failed with no BullMQ retry left. */
  onFinished(job: Job): void;
  onCompleted?(job: Job): void;
  onFailedForGood?(job: Job | undefined, err: Error): void;
}

/** Listens to the Worker's events: its errors logged (connection errors are the RedisConnectionWatch's), outcomes. */
export function wireBullWorker(worker: Worker, workerName: string, logger: Logger, hooks: BullWorkerHooks): void {
  worker.on('error', (err) => void (isConnectionError(err) || logger.warn(`worker ${workerName}: ${err.message}`)));
  worker.on('completed', (job) => {
    hooks.onFinished(job);
    hooks.onCompleted?.(job);
  });
  worker.on('failed', (job, err) => {
    const final = !job || err?.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    if (job) hooks.onFinished(job);
    hooks.onFailedForGood?.(job, err);
  });
}

/**
 * Cuts a Worker off as if its process had died: no more events reach the service, its backend's timers stop (in
 * memory: lock renewal), a blocked fetch wakes, and every later datastore call fails like a dropped connection.
 */
export async function severBullWorker(worker: Worker): Promise<void> {
  worker.removeAllListeners();
  worker.on('error', () => undefined);
  const backend = (worker as unknown as { backend: { close(force?: boolean): Promise<void>; disconnect(): Promise<void> } }).backend;
  const stopped = backend.close(true);
  await backend.disconnect();
  void worker.close(true).catch(() => undefined);
  await stopped.catch(() => undefined);
}
