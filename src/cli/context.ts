import type { ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import type { Queue } from 'bullmq';
import { closeRedisClient, createRedisClient } from '../drivers/redis-client.js';
import { RedisQueueDriver } from '../drivers/redis-queue-driver.js';
import { describeRedisAddress, RedisConnectionWatch } from '../drivers/redis-watch.js';
import { EngineSignals } from '../engine/engine-signals.service.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { ResourceLockService } from '../locks/resource-lock.service.js';
import { SystemClock } from '../ports/clock.js';
import type { RedisClient } from '../ports/redis.js';
import { resolveCliConfig, type ConnectionOptions } from './options.js';

/**
 * The module's own services, built on one connection for a read-mostly command-line run: the same key builders,
 * index parsing, lock reads and ready signal the module uses (no Nest container, no worker, no dispatcher).
 */
export class CliContext {
  readonly index: IndexManagerService;
  readonly signals: EngineSignals;
  readonly locks: ResourceLockService;
  readonly driver: RedisQueueDriver;
  readonly clock = new SystemClock();

  private constructor(
    readonly config: ResolvedAtomicQueuesConfig,
    readonly redis: RedisClient,
    private readonly watch: RedisConnectionWatch,
  ) {
    this.index = new IndexManagerService(redis, config, this.clock);
    this.signals = new EngineSignals(redis, config, this.clock);
    this.locks = new ResourceLockService(redis, config);
    this.driver = new RedisQueueDriver(config.redis, watch, config.nodeId);
  }

  get prefix(): string {
    return this.config.keyPrefix;
  }

  /** Validates the options (CliUsageError naming the flag) and connects (AtomicQueuesConnectionError when Redis cannot be reached). */
  static async open(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<CliContext> {
    const config = resolveCliConfig(options, env);
    const redis = createRedisClient(config.redis, { connectionName: `aq:${config.nodeId}:cmd` });
    const watch = new RedisConnectionWatch(describeRedisAddress(redis), config.redis, silentLogger);
    watch.watch(redis, 'cmd');
    try {
      await watch.waitConnected();
    } catch (err) {
      watch.stop();
      redis.disconnect();
      throw err;
    }
    return new CliContext(config, redis, watch);
  }

  /**
   * A BullMQ Queue object on the queue connection (closed with the context). It leaves the queue's meta alone: a
   * Queue opened with BullMQ's defaults would rewrite the app's `opts.maxLenEvents` (queueDefaults.eventsMaxLen).
   */
  openQueue(queueName: string): Queue {
    return this.driver.createQueue(queueName, { prefix: this.prefix, skipMetasUpdate: true });
  }

  async close(): Promise<void> {
    await this.driver.close();
    this.watch.stop();
    await closeRedisClient(this.redis);
  }
}

const silent = (): void => undefined;
const silentLogger = { log: silent, warn: silent, error: silent, debug: silent, verbose: silent };

/** Milliseconds of a Redis TIME reply. */
export function serverMs([seconds, micros]: [string, string] | (string | number)[]): number {
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
