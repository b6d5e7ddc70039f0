import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '@nestjs/atomic-queues/testing';
import { sampleEventStreams } from '../../toolkit/sampling/event-streams.js';
import { parseInfo, sampleRedisServer } from '../../toolkit/sampling/redis-info.js';

describe('parseInfo', () => {
  it('reads field:value lines of every section and skips headers and blanks', () => {
    const fields = parseInfo('# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\n\r\n# Clients\r\nconnected_clients:3\r\n');
    expect([...fields]).toEqual([
      ['used_memory', '1024'],
      ['used_memory_human', '1.00K'],
      ['connected_clients', '3'],
    ]);
  });
});

describe('sampleRedisServer (private redis-server, so DBSIZE is ours alone)', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('reports keys, memory and clients as they change', async () => {
    const before = await sampleRedisServer(redis);
    expect(before).toMatchObject({ keys: 0, connectedClients: 1 });
    expect(before.usedMemoryBytes).toBeGreaterThan(0);
    expect(before.usedMemoryRssBytes).toBeGreaterThan(0);
    const other = new Redis(server.url);
    try {
      await other.mset({ a: '1', b: '2', c: 'x'.repeat(2 * 1024 * 1024) });
      const after = await sampleRedisServer(redis);
      expect(after.keys).toBe(3);
      expect(after.connectedClients).toBe(2);
      expect(after.usedMemoryBytes - before.usedMemoryBytes).toBeGreaterThan(2 * 1024 * 1024);
    } finally {
      other.disconnect();
    }
  });

  it('tells how many sampled event streams were trimmed, and their median length (a missing stream counts as 0)', async () => {
    for (let i = 0; i < 5; i++) await redis.xadd('s:full', 'MAXLEN', '3', '*', 'event', `e${i}`);
    for (let i = 0; i < 2; i++) await redis.xadd('s:filling', 'MAXLEN', '3', '*', 'event', `e${i}`);
    expect(await sampleEventStreams(redis, ['s:full', 's:filling', 's:missing'])).toEqual({ sampled: 3, trimmed: 1, medianLength: 2 });
    await redis.set('s:string', 'x');
    await expect(sampleEventStreams(redis, ['s:full', 's:string'])).rejects.toThrow(/XINFO STREAM s:string failed: WRONGTYPE/);
    await expect(sampleEventStreams(redis, [])).rejects.toThrow('no stream keys');
    await redis.del('s:full', 's:filling', 's:string');
  });

  it('fails with the reason when the connection is gone', async () => {
    const gone = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    await expect(sampleRedisServer(gone)).rejects.toThrow();
  });
});
