import { DEFAULT_KEY_PREFIX, resolveConfig, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { AtomicQueuesConfigError } from '../errors.js';
import { CliUsageError } from './errors.js';

// Light on purpose (no ioredis, BullMQ or Nest): the CLI checks its options before it loads what connects.

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Connection options every command takes. */
export interface ConnectionOptions {
  redisUrl?: string;
  keyPrefix?: string;
  /** Bound (ms) for reaching Redis. */
  timeout?: number;
}

/** Where each config field comes from on the command line (for error messages). */
const FLAG_OF: Record<string, string> = { 'redis.url': '--redis-url', keyPrefix: '--key-prefix', 'redis.connectTimeoutMs': '--timeout' };

export function resolveCliConfig(options: ConnectionOptions, env: NodeJS.ProcessEnv): ResolvedAtomicQueuesConfig {
  const url = options.redisUrl ?? (env.REDIS_URL || DEFAULT_REDIS_URL);
  try {
    return resolveConfig({
      redis: { url, connectTimeoutMs: options.timeout ?? 5000, commandTimeoutMs: options.timeout ?? 5000, maxRetriesPerRequest: 1 },
      keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
      nodeId: `cli-${process.pid}`,
    });
  } catch (err) {
    if (err instanceof AtomicQueuesConfigError && FLAG_OF[err.path]) {
      throw new CliUsageError(`${FLAG_OF[err.path]} ${err.rule} (got ${JSON.stringify(err.value)})`);
    }
    throw err;
  }
}
