import RedisMock from 'ioredis-mock';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/index.js';
import { IndexManagerService } from '../../src/index/index-manager.service.js';
import { SystemClock } from '../../src/ports/clock.js';
import type { RedisClient } from '../../src/ports/redis.js';
import { refreshHeartbeatScript, releaseHeartbeatScript } from '../../src/workers/heartbeat.lua.js';
import { refreshHeartbeats } from '../../src/workers/node-heartbeat.js';

// The in-memory testing module runs these services on ioredis-mock (fengari Lua): the scripts must work there too.
describe('core Lua scripts on ioredis-mock', () => {
  it('index counting is exactly-once', async () => {
    const redis = new RedisMock() as unknown as RedisClient;
    const index = new IndexManagerService(redis, resolveConfig({ redis: { host: 'mock' }, keyPrefix: 'm1' }), new SystemClock());
    expect(await index.indexJob('order', 'o1', 'j1')).toBe(1);
    expect(await index.indexJob('order', 'o1', 'j1')).toBe(1);
    expect(await index.indexJob('order', 'o1', 'j2')).toBe(2);
    expect(await index.unindexJob('order', 'o1', 'j1')).toBe(true);
    expect(await index.unindexJob('order', 'o1', 'j1')).toBe(false);
    expect(await index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
    await index.unindexJob('order', 'o1', 'j2');
    expect(await index.getEntitiesWithJobs('order')).toEqual({});
  });

  it('heartbeat refresh/release only for the owner value', async () => {
    const redis = new RedisMock() as unknown as RedisClient;
    await redis.set('m2:workers:w', 'node|t1', 'PX', 1000);
    expect(await refreshHeartbeatScript.run(redis, ['m2:workers:w'], ['node|other', 5000])).toBe(0);
    expect(await redis.pttl('m2:workers:w')).toBeLessThanOrEqual(1000);
    expect(await refreshHeartbeatScript.run(redis, ['m2:workers:w'], ['node|t1', 5000])).toBe(1);
    expect(await redis.pttl('m2:workers:w')).toBeGreaterThan(1000);
    expect(await releaseHeartbeatScript.run(redis, ['m2:workers:w'], ['node|other'])).toBe(0);
    expect(await releaseHeartbeatScript.run(redis, ['m2:workers:w'], ['node|t1'])).toBe(1);
    expect(await redis.exists('m2:workers:w')).toBe(0);
  });
});

describe('batched heartbeat refresh on ioredis-mock', () => {
  it('extends only the keys still owned, reports the lost ones and the watched list lengths', async () => {
    const redis = new RedisMock() as unknown as RedisClient;
    await redis.set('m3:workers:a', 'node|ta', 'PX', 1000);
    await redis.set('m3:workers:b', 'other|tb', 'PX', 1000);
    await redis.rpush('m3:qa:active', 'j1', 'j2');
    const member = (name: string, owner: string, watchKey?: string) => ({
      name, heartbeatKey: `m3:workers:${name}`, owner, ttlMs: 5000, intervalMs: 1000, watchKey, lastRefresh: 0,
    });
    const [a, b, c] = [member('a', 'node|ta', 'm3:qa:active'), member('b', 'node|tb', 'm3:qb:active'), member('c', 'node|tc')];
    const outcomes = await refreshHeartbeats(redis, [a, b, c]);
    expect(outcomes.map((o) => [o.member.name, o.owned, o.watchLength])).toEqual([
      ['a', true, 2],
      ['b', false, 0],
      ['c', false, undefined],
    ]);
    expect(await redis.pttl('m3:workers:a')).toBeGreaterThan(1000);
    expect(await redis.pttl('m3:workers:b')).toBeLessThanOrEqual(1000);
    expect(await redis.exists('m3:workers:c')).toBe(0);
  });
});
