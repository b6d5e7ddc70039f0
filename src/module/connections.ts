import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { coalesceWrites } from '../drivers/coalesce-writes.js';
import { closeRedisClient, createRedisClient, isCluster } from '../drivers/redis-client.js';
import { describeRedisAddress, RedisConnectionWatch } from '../drivers/redis-watch.js';
import { AtomicQueuesConfigError } from '../errors.js';
import type { RedisClient } from '../ports/redis.js';

/**
 * The module's own ioredis connections: the command connection (the user's `redis.connection` when given,
 * which is never closed), a dedicated subscriber and a heartbeat connection (both always ours). On module init
 * they must all be ready within `redis.connectTimeoutMs`, or bootstrap fails with one
 * AtomicQueuesConnectionError (and they are closed). Their state (and the queue driver's connections) is
 * followed by one RedisConnectionWatch. Closed last, on application shutdown.
 */
@Injectable()
export class AtomicQueuesConnections implements OnModuleInit, OnApplicationShutdown {
  readonly redis: RedisClient;
  readonly subscriber: RedisClient;
  /** The workers' batched heartbeat refresh (one round trip per interval, never behind the command backlog). */
  readonly heartbeat: RedisClient;
  /** Connection state of every connection of the module (these and the queue driver's). */
  readonly watch: RedisConnectionWatch;
  private readonly owned: RedisClient[] = [];

  constructor(@Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig) {
    if (config.redis.connection) {
      this.redis = config.redis.connection;
    } else {
      this.redis = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:cmd` });
      coalesceWrites(this.redis);
      this.owned.push(this.redis);
    }
    this.subscriber = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:sub`, maxRetriesPerRequest: null });
    this.owned.push(this.subscriber);
    this.heartbeat = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:hb` });
    this.owned.push(this.heartbeat);
    this.watch = new RedisConnectionWatch(describeRedisAddress(this.redis), config.redis);
    this.watch.watch(this.redis, 'cmd');
    this.watch.watch(this.subscriber, 'sub');
    this.watch.watch(this.heartbeat, 'hb');
  }

  /** Fails bootstrap (within redis.connectTimeoutMs) when Redis cannot be reached. */
  async onModuleInit(): Promise<void> {
    // A user's connection created with lazyConnect connects on its first command; start it now.
    if (this.redis.status === 'wait') this.redis.connect().catch(() => undefined);
    try {
      await this.watch.waitConnected();
      await this.checkDatabase();
    } catch (err) {
      this.watch.stop();
      const owned = this.owned.splice(0);
      for (const client of owned) {
        // Replies still in flight (a refused AUTH, a failed SELECT) must not print as unhandled errors.
        client.on('error', () => undefined);
        client.disconnect();
      }
      throw err;
    }
  }

  /**
   * ioredis only reports a failed SELECT as an 'error' event and goes on in database 0: a `redis.db` beyond the
   * server's `databases` setting would silently share database 0. Selecting it once more here fails bootstrap.
   */
  private async checkDatabase(): Promise<void> {
    if (isCluster(this.redis)) return;
    // The database the connections were built with: `redis.db`, the URL's `/<db>`, or the given connection's.
    const db = Number(this.redis.options.db ?? 0);
    if (db === 0) return;
    try {
      await this.redis.select(db);
    } catch (err) {
      const path = this.config.redis.db !== undefined ? 'redis.db' : this.config.redis.url !== undefined ? 'redis.url (its /<db> part)' : 'redis.connection (its db)';
      throw new AtomicQueuesConfigError(path, `is not a database of the Redis server at ${this.watch.address} (its 'databases' setting bounds the index): ${String((err as Error).message ?? err)}`, db);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.watch.stop();
    const owned = this.owned.splice(0);
    await Promise.allSettled(owned.map(closeRedisClient));
  }
}
