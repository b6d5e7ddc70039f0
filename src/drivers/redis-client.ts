import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { AtomicQueuesRedisConfig } from '../config/atomic-queues-config.js';
import type { RedisClient } from '../ports/redis.js';

export interface ClientOverrides {
  maxRetriesPerRequest?: number | null;
  connectionName?: string;
}

/** True for an ioredis Cluster client (multi-key commands must then stay within one hash slot). */
export const isCluster = (c: RedisClient): c is Cluster => (c as { isCluster?: boolean }).isCluster === true;

/**
 * A NEW ioredis client (the caller owns it and must close it): a duplicate of `redis.connection` when given,
 * otherwise built from url/host/port/username/password/db/tls (every connection of the module, BullMQ's included,
 * is made here, so they all authenticate and encrypt alike).
 */
export function createRedisClient(redis: Readonly<AtomicQueuesRedisConfig>, overrides: ClientOverrides = {}): RedisClient {
  const extra: RedisOptions = {};
  if (overrides.maxRetriesPerRequest !== undefined) extra.maxRetriesPerRequest = overrides.maxRetriesPerRequest;
  else if (redis.maxRetriesPerRequest !== undefined) extra.maxRetriesPerRequest = redis.maxRetriesPerRequest;
  if (overrides.connectionName) extra.connectionName = overrides.connectionName;
  // Bounds each TCP connect attempt too (ioredis' default is 10 s): an unreachable host fails within the bound.
  if (redis.connectTimeoutMs !== undefined) extra.connectTimeout = redis.connectTimeoutMs;
  if (redis.connection) {
    const base = redis.connection;
    if (isCluster(base)) {
      return base.duplicate(undefined, { redisOptions: { ...base.options.redisOptions, ...extra } });
    }
    return base.duplicate(extra);
  }
  const options: RedisOptions = { ...extra };
  if (redis.host !== undefined) options.host = redis.host;
  if (redis.port !== undefined) options.port = redis.port;
  if (redis.username !== undefined) options.username = redis.username;
  if (redis.password !== undefined) options.password = redis.password;
  if (redis.db !== undefined) options.db = redis.db;
  if (redis.tls !== undefined) options.tls = redis.tls;
  if (!redis.url) return new Redis(options);
  // ioredis merges its constructor arguments first-wins (lodash `defaults`) and parses a URL argument itself:
  // the explicit settings go first so that they override the URL's parts, as documented on the config.
  const settingsThenUrl = [options, redis.url] as unknown as [RedisOptions];
  return new Redis(...settingsThenUrl);
}

/** Closes a client we created: QUIT, falling back to disconnect if the server is unreachable. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  // Errors of a connection being closed on purpose are of no interest (and must not print as unhandled).
  client.on('error', () => undefined);
  try {
    await Promise.race([client.quit(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 2000).unref())]);
  } catch {
    client.disconnect();
  }
}
