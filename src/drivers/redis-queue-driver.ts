import { Queue, QueueKeys, RedisQueueBackend, Worker, createRedisBackend, type BackendFactory, type Processor } from 'bullmq';
import type { AtomicQueuesRedisConfig } from '../config/atomic-queues-config.js';
import type { JobWaiter } from '../engine/job-waiter.js';
import { withJobWaiter } from '../engine/worker-backend.js';
import type { DriverQueueOptions, DriverWorkerOptions, QueueDriver } from '../ports/queue-driver.js';
import type { RedisClient } from '../ports/redis.js';
import { recoverOrphansScript } from './recover-orphans.lua.js';
import { coalesceWrites } from './coalesce-writes.js';
import { closeRedisClient, createRedisClient } from './redis-client.js';
import type { RedisConnectionWatch } from './redis-watch.js';

/**
 * Production queue driver: BullMQ on Redis. All queues share one command connection; all workers share one
 * connection with `maxRetriesPerRequest: null`. Every queue's backend is a sibling on the shared queue
 * connection, so a new entity queue costs no round trip of its own (BullMQ's scripts are loaded and the server
 * version read once per connection, not per queue). A worker given a JobWaiter (every worker the module creates)
 * opens no blocking connection: its backend is a sibling on the shared worker connection and it waits for jobs
 * through the waiter. A worker
 * without a waiter is plain BullMQ (its own blocking connection). Connections are created lazily and closed by
 * `close()` (after the services closed their queues and workers); a user's `redis.connection` is only
 * duplicated. Given a RedisConnectionWatch (the module passes its own), the connections' state is reported
 * there: one log line per state change, not per ioredis retry.
 */
export class RedisQueueDriver implements QueueDriver {
  readonly kind = 'redis' as const;
  private queueConnection?: RedisClient;
  private workerConnection?: RedisClient;
  /** Own nothing but the RedisConnection wrappers of the shared connections (version read, scripts loaded). */
  private queueRoot?: RedisQueueBackend;
  private workerRoot?: RedisQueueBackend;

  constructor(
    private readonly redis: Readonly<AtomicQueuesRedisConfig>,
    private readonly watch?: RedisConnectionWatch,
    /** Names the connections `aq:<nodeId>:queues` / `aq:<nodeId>:workers` (CLIENT LIST shows whose they are). */
    private readonly nodeId?: string,
  ) {}

  createQueue(name: string, options: DriverQueueOptions): Queue {
    const connection = this.queues();
    this.queueRoot ??= rootBackend(connection);
    const queue = new Queue(name, { ...options, connection }, siblingFactory(this.queueRoot));
    // A Queue's 'error' events are its connection's errors, re-emitted per queue and printed (one stack trace
    // per queue per ioredis retry) when nobody listens. The connection's state is reported by the watch;
    // failed commands reject the calls that made them.
    queue.on('error', () => undefined);
    return queue;
  }

  createWorker(name: string, processor: Processor, options: DriverWorkerOptions, waiter?: JobWaiter): Worker {
    if (!this.workerConnection) {
      this.workerConnection = createRedisClient(this.redis, { maxRetriesPerRequest: null, connectionName: this.connectionName('workers') });
      coalesceWrites(this.workerConnection);
      this.watch?.watch(this.workerConnection, 'workers');
    }
    const connection = this.workerConnection;
    if (!waiter) return new Worker(name, processor, { ...options, connection });
    this.workerRoot ??= rootBackend(connection);
    const sibling = siblingFactory(this.workerRoot);
    return new Worker(name, processor, { ...options, connection }, (queueName, opts, extra) => withJobWaiter(sibling(queueName, opts, extra), waiter));
  }

  async recoverOrphanedJobs(queueName: string, prefix: string): Promise<number> {
    const k = new QueueKeys(prefix).getKeys(queueName);
    return Number(await recoverOrphansScript.run(this.queues(), [k.active, k.stalled, k['stalled-check']], [`${prefix}:${queueName}:`]));
  }

  async close(): Promise<void> {
    const conns = [this.queueConnection, this.workerConnection].filter((c): c is RedisClient => c !== undefined);
    this.queueConnection = this.workerConnection = undefined;
    this.queueRoot = this.workerRoot = undefined;
    for (const c of conns) this.watch?.unwatch(c);
    await Promise.allSettled(conns.map(closeRedisClient));
  }

  private queues(): RedisClient {
    if (!this.queueConnection) {
      this.queueConnection = createRedisClient(this.redis, { connectionName: this.connectionName('queues') });
      coalesceWrites(this.queueConnection);
      this.watch?.watch(this.queueConnection, 'queues');
    }
    return this.queueConnection;
  }

  private connectionName(kind: 'queues' | 'workers'): string {
    return this.nodeId ? `aq:${this.nodeId}:${kind}` : `aq:${kind}`;
  }
}

/** A backend that only holds the RedisConnection wrapper of a shared connection (for its siblings). */
function rootBackend(connection: RedisClient): RedisQueueBackend {
  const root = createRedisBackend('aq-engine', { connection } as Parameters<typeof createRedisBackend>[1]) as RedisQueueBackend;
  // BullMQ re-emits the connection's errors here; the watch reports the connection's state.
  root.on('error', () => undefined);
  return root;
}

/** Backends for BullMQ objects that share `root`'s connection wrapper and never close it. */
function siblingFactory(root: RedisQueueBackend): BackendFactory<RedisQueueBackend> {
  return (queueName, opts) => {
    const queueKeys = new QueueKeys((opts as { prefix?: string }).prefix);
    return new RedisQueueBackend(root.connection, queueName, queueKeys.getKeys(queueName), (type) => queueKeys.toKey(queueName, type), opts, undefined, false);
  };
}
