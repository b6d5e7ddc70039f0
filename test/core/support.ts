import { randomBytes } from 'node:crypto';
import { Reflector, type DiscoveryService } from '@nestjs/core';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { resolveConfig, type AtomicQueuesConfig, type ResolvedAtomicQueuesConfig } from '../../src/config/index.js';
import { RedisQueueDriver } from '../../src/drivers/redis-queue-driver.js';
import { EngineSignals } from '../../src/engine/engine-signals.service.js';
import { IndexManagerService } from '../../src/index/index-manager.service.js';
import { SystemClock, type Clock } from '../../src/ports/clock.js';
import { QueueManagerService } from '../../src/queues/queue-manager.service.js';
import { JobProcessorRegistry } from '../../src/registry/job-processor.registry.js';
import { WorkerManagerService } from '../../src/workers/worker-manager.service.js';

export const uniquePrefix = (tag = 't'): string => `${tag}${randomBytes(5).toString('hex')}`;

/** Fast heartbeat settings for tests. */
export const FAST_WORKERS = { heartbeatTTL: 1, heartbeatInterval: 200, stalledInterval: 500, lockDuration: 5000 } as const;

export interface Core {
  config: ResolvedAtomicQueuesConfig;
  redis: Redis;
  subscriber: Redis;
  driver: RedisQueueDriver;
  clock: Clock;
  index: IndexManagerService;
  queues: QueueManagerService;
  registry: JobProcessorRegistry;
  workers: WorkerManagerService;
  signals: EngineSignals;
  /** Every key under the test's prefix. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** The core services wired by hand on the integration Redis, isolated by a unique keyPrefix (SystemClock unless given). */
export function makeCore(overrides: Partial<AtomicQueuesConfig> = {}, prefix = uniquePrefix(), clock: Clock = new SystemClock()): Core {
  const url = overrides.redis?.url ?? inject('redisUrl');
  const config = resolveConfig({ redis: { url }, keyPrefix: prefix, workerDefaults: FAST_WORKERS, shutdownTimeoutMs: 5000, ...overrides });
  const clientOptions = { maxRetriesPerRequest: config.redis.maxRetriesPerRequest ?? 20 };
  const redis = new Redis(url, clientOptions);
  const subscriber = new Redis(url, clientOptions);
  for (const client of [redis, subscriber]) client.on('error', () => undefined); // tests that kill Redis expect errors
  const driver = new RedisQueueDriver(config.redis);
  const index = new IndexManagerService(redis, config, clock);
  const signals = new EngineSignals(redis, config, clock);
  const queues = new QueueManagerService(driver, config, index, signals);
  const registry = new JobProcessorRegistry({ getProviders: () => [] } as unknown as DiscoveryService, new Reflector());
  const workers = new WorkerManagerService(redis, subscriber, driver, config, clock, index, queues, registry, signals);
  return {
    config, redis, subscriber, driver, clock, index, queues, registry, workers, signals,
    keys: () => scanKeys(redis, `${prefix}:*`),
    async close() {
      await workers.shutdown(3000);
      await queues.closeAll();
      await driver.close();
      const left = await scanKeys(redis, `${prefix}:*`);
      if (left.length > 0) await redis.del(...left);
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...batch);
  } while (cursor !== '0');
  return out.sort();
}

export { waitFor } from '../support/wait.js';

/** A promise with its resolve function, to hold a processor until the test releases it. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
