import { Queue, Worker, type Processor } from 'bullmq';
import type { AtomicQueuesRedisConfig } from '../config/atomic-queues-config.js';
import type { DriverQueueOptions, DriverWorkerOptions, QueueDriver } from '../ports/queue-driver.js';
import type { RedisClient } from '../ports/redis.js';
import { closeRedisClient, createRedisClient } from './redis-client.js';
import type { RedisConnectionWatch } from './redis-watch.js';

/**
 * Production queue driver: BullMQ on Redis. All queues share one command connection; all workers share one
 * connection with `maxRetriesPerRequest: null` (BullMQ adds a blocking connection per worker). Both are
 * created (lazily) by the driver and closed by `close()` (after the services closed their queues and
 * workers); a user's `redis.connection` is only duplicated. Given a RedisConnectionWatch (the module passes
 * its own), the connections' state is reported there: one log line per state change, not per ioredis retry.
 */
export class RedisQueueDriver implements QueueDriver {
  readonly kind = 'redis' as const;
  private queueConnection?: RedisClient;
  private workerConnection?: RedisClient;

  constructor(
    private readonly redis: Readonly<AtomicQueuesRedisConfig>,
    private readonly watch?: RedisConnectionWatch,
  ) {}

  createQueue(name: string, options: DriverQueueOptions): Queue {
    if (!this.queueConnection) {
      this.queueConnection = createRedisClient(this.redis, { connectionName: 'aq:queues' });
      this.watch?.watch(this.queueConnection, 'queues');
    }
    const queue = new Queue(name, { ...options, connection: this.queueConnection });
    // A Queue's 'error' events are its connection's errors, re-emitted per queue and printed (one stack trace
    // per queue per ioredis retry) when nobody listens. The connection's state is reported by the watch;
    // failed commands reject the calls that made them.
    queue.on('error', () => undefined);
    return queue;
  }

  createWorker(name: string, processor: Processor, options: DriverWorkerOptions): Worker {
    if (!this.workerConnection) {
      this.workerConnection = createRedisClient(this.redis, { maxRetriesPerRequest: null, connectionName: 'aq:workers' });
      this.watch?.watch(this.workerConnection, 'workers');
    }
    return new Worker(name, processor, { ...options, connection: this.workerConnection });
  }

  async close(): Promise<void> {
    const conns = [this.queueConnection, this.workerConnection].filter((c): c is RedisClient => c !== undefined);
    this.queueConnection = this.workerConnection = undefined;
    for (const c of conns) this.watch?.unwatch(c);
    await Promise.allSettled(conns.map(closeRedisClient));
  }
}
