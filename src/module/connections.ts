import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { closeRedisClient, createRedisClient } from '../drivers/redis-client.js';
import type { RedisClient } from '../ports/redis.js';

/**
 * The module's own ioredis connections: the command connection (the user's `redis.connection` when given,
 * which is never closed), a dedicated subscriber and a heartbeat connection (both always ours). Closed last,
 * on application shutdown.
 */
@Injectable()
export class AtomicQueuesConnections implements OnApplicationShutdown {
  readonly redis: RedisClient;
  readonly subscriber: RedisClient;
  /** The workers' batched heartbeat refresh (one round trip per interval, never behind the command backlog). */
  readonly heartbeat: RedisClient;
  private readonly owned: RedisClient[] = [];

  constructor(@Inject(ATOMIC_QUEUES_CONFIG) config: ResolvedAtomicQueuesConfig) {
    if (config.redis.connection) {
      this.redis = config.redis.connection;
    } else {
      this.redis = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:cmd` });
      this.owned.push(this.redis);
    }
    this.subscriber = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:sub`, maxRetriesPerRequest: null });
    this.owned.push(this.subscriber);
    this.heartbeat = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:hb` });
    this.owned.push(this.heartbeat);
    const logger = new Logger('AtomicQueues:Redis');
    let lastError = '';
    for (const client of this.owned) {
      client.on('error', (err: Error) => {
        if (err.message !== lastError) logger.warn(`redis connection error: ${err.message}`);
        lastError = err.message;
      });
      client.on('ready', () => (lastError = ''));
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const owned = this.owned.splice(0);
    await Promise.allSettled(owned.map(closeRedisClient));
  }
}
