import type { Processor, Queue, QueueOptions, Worker, WorkerOptions } from 'bullmq';
import type { JobWaiter } from '../engine/job-waiter.js';

/**
 * Queue-storage port. The services build BullMQ `Queue` and `Worker` objects only through a driver:
 * production uses BullMQ on Redis (`RedisQueueDriver`), the testing entry point uses real BullMQ classes
 * over an in-memory `IQueueBackend` (`withBackend(...)`). Connection settings belong to the driver.
 */
export type DriverQueueOptions = Omit<QueueOptions, 'connection'>;
export type DriverWorkerOptions = Omit<WorkerOptions, 'connection'>;

export interface QueueDriver {
  readonly kind: 'redis' | 'memory';
  createQueue(name: string, options: DriverQueueOptions): Queue;
  /**
   * A Worker for queue `name`. With a `waiter`, the Worker holds no blocking connection of its own: it shares the
   * driver's connection and waits for jobs through the waiter (the engine wakes it).
   */
  createWorker(name: string, processor: Processor, options: DriverWorkerOptions, waiter?: JobWaiter): Worker;
  /**
   * Hands the active jobs of a queue whose owner died to stalled recovery right away (drops their locks), so the
   * next stalled check re-queues them ahead of later jobs. Returns how many. Optional: without it, recovery
   * waits for the locks to expire.
   */
  recoverOrphanedJobs?(queueName: string, prefix: string): Promise<number>;
  /** Releases connections the driver itself owns (not the user's). */
  close(): Promise<void>;
}

export const ATOMIC_QUEUES_QUEUE_DRIVER = Symbol.for('@nestjs/atomic-queues:queue-driver');
