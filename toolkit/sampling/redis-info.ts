import type { Redis } from 'ioredis';

/** What the Redis server holds right now: `INFO memory` / `INFO clients` figures and `DBSIZE`. */

export interface RedisServerSample {
  /** `used_memory`: bytes allocated by Redis for its data. */
  usedMemoryBytes: number;
  /** `used_memory_rss`: resident bytes of the redis-server process. */
  usedMemoryRssBytes: number;
  /** `connected_clients` (the sampling connection included). */
  connectedClients: number;
  /** `DBSIZE` of the selected database. */
  keys: number;
}

/** Parses `INFO` text (`# Section` headers, `field:value` lines) into a flat field → value map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function intField(fields: ReadonlyMap<string, string>, name: string): number {
  const raw = fields.get(name);
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value)) throw new Error(`INFO field ${name} is missing or not an integer: ${JSON.stringify(raw)}`);
  return value;
}

/** One sample over an existing connection (one pipeline: INFO memory, INFO clients, DBSIZE). */
export async function sampleRedisServer(redis: Redis): Promise<RedisServerSample> {
  const replies = await redis.pipeline().info('memory').info('clients').dbsize().exec();
  if (!replies) throw new Error('sampleRedisServer: the pipeline returned nothing (connection closed?)');
  const [memory, clients, dbsize] = replies.map(([error, value], i) => {
    if (error) throw new Error(`sampleRedisServer: command ${i} failed: ${error.message}`);
    return value;
  });
  const fields = new Map([...parseInfo(String(memory)), ...parseInfo(String(clients))]);
  return {
    usedMemoryBytes: intField(fields, 'used_memory'),
    usedMemoryRssBytes: intField(fields, 'used_memory_rss'),
    connectedClients: intField(fields, 'connected_clients'),
    keys: Number(dbsize),
  };
}
