import type { Processor, Queue, QueueOptions, Worker, WorkerOptions } from 'bullmq';

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
  createWorker(name: string, processor: Processor, options: DriverWorkerOptions): Worker;
  /** Releases connections the driver itself owns (not the user's). */
  close(): Promise<void>;
}

export const ATOMIC_QUEUES_QUEUE_DRIVER = Symbol.for('@nestjs/atomic-queues:queue-driver');
