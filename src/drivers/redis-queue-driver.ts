import { Queue, Worker, type Processor } from 'bullmq';
import type { AtomicQueuesRedisConfig } from '../config/atomic-queues-config.js';
import type { DriverQueueOptions, DriverWorkerOptions, QueueDriver } from '../ports/queue-driver.js';
import type { RedisClient } from '../ports/redis.js';
import { closeRedisClient, createRedisClient } from './redis-client.js';

/**
 * Production queue driver: BullMQ on Redis. All queues share one command connection; all workers share one
 * connection with `maxRetriesPerRequest: null` (BullMQ adds a blocking connection per worker). Both are
 * created (lazily) by the driver and closed by `close()` (after the services closed their queues and
 * workers); a user's `redis.connection` is only duplicated.
 */
export class RedisQueueDriver implements QueueDriver {
  readonly kind = 'redis' as const;
  private queueConnection?: RedisClient;
  private workerConnection?: RedisClient;

  constructor(private readonly redis: Readonly<AtomicQueuesRedisConfig>) {}

  createQueue(name: string, options: DriverQueueOptions): Queue {
    this.queueConnection ??= createRedisClient(this.redis, { connectionName: 'aq:queues' });
    return new Queue(name, { ...options, connection: this.queueConnection });
  }

  createWorker(name: string, processor: Processor, options: DriverWorkerOptions): Worker {
    this.workerConnection ??= createRedisClient(this.redis, { maxRetriesPerRequest: null, connectionName: 'aq:workers' });
    return new Worker(name, processor, { ...options, connection: this.workerConnection });
  }

  async close(): Promise<void> {
    const conns = [this.queueConnection, this.workerConnection].filter((c): c is RedisClient => c !== undefined);
    this.queueConnection = this.workerConnection = undefined;
    await Promise.allSettled(conns.map(closeRedisClient));
  }
}
