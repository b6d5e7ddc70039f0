import { describe, expect, it } from 'vitest';
import { TestClock } from '../../testing/clock/index.js';
import { createClockedRedisMock } from '../../testing/redis-mock/index.js';

describe('createClockedRedisMock', () => {
  it('expires a PX key exactly when the clock reaches its deadline, not before', async () => {
    const clock = new TestClock();
    const world = createClockedRedisMock(clock);
    await world.client.set('hb', 'w1', 'PX', 1000);
    await clock.advance(999);
    expect(await world.client.get('hb')).toBe('w1');
    expect(await world.client.pttl('hb')).toBe(1);
    await clock.advance(1);
    expect(await world.client.get('hb')).toBeNull();
    await world.close();
  });

  it('follows the clock for PEXPIRE inside a pipeline and ignores real time', async () => {
    const clock = new TestClock();
    const { client } = createClockedRedisMock(clock);
    await client.pipeline().set('k', 'v').pexpire('k', 50).exec();
    const realBefore = Date.now();
    expect(await client.get('k')).toBe('v');
    await clock.advance(50);
    expect(await client.exists('k')).toBe(0);
    expect(Date.now()).toBeGreaterThanOrEqual(realBefore); // the override is scoped: real Date.now is back
    expect(Math.abs(Date.now() - clock.now())).toBeGreaterThan(1000);
  });

  it('delivers a published message to the subscriber', async () => {
    const clock = new TestClock();
    const { client, subscriber } = createClockedRedisMock(clock);
    const received = new Promise<[string, string]>((resolve) => subscriber.on('message', (ch: string, msg: string) => resolve([ch, msg])));
    await subscriber.subscribe('shutdown');
    const receivers = await client.publish('shutdown', 'node-1');
    expect(receivers).toBe(1);
    expect(await received).toEqual(['shutdown', 'node-1']);
  });

  it('runs a Lua script defined with defineCommand, with TTLs on the clock', async () => {
    const clock = new TestClock();
    const { client } = createClockedRedisMock(clock);
    client.defineCommand('acquire', {
      numberOfKeys: 1,
      lua: `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 else return 0 end`,
    });
    const acquire = (client as unknown as { acquire(k: string, v: string, ms: number): Promise<number> }).acquire.bind(client);
    expect(await acquire('lock', 'a', 100)).toBe(1);
    expect(await acquire('lock', 'b', 100)).toBe(0);
    await clock.advance(100);
    expect(await acquire('lock', 'b', 100)).toBe(1);
    expect(await client.get('lock')).toBe('b');
  });

  it('duplicate() connections share the data world and the clock', async () => {
    const clock = new TestClock();
    const world = createClockedRedisMock(clock);
    const other = world.client.duplicate();
    await other.set('shared', '1', 'PX', 60_000);
    expect(await world.client.get('shared')).toBe('1');
    await clock.advance(60_000);
    expect(await other.get('shared')).toBeNull();
    expect(await world.duplicate().exists('shared')).toBe(0);
  });

  it('rejects an unsupported command like ioredis-mock, from stubs shared on the prototype (not per connection)', async () => {
    const world = createClockedRedisMock(new TestClock());
    const client = world.client as unknown as Record<string, () => unknown>;
    expect(() => client.monitor!()).toThrow(new TypeError(
      'Unsupported command: "monitor", please check the full list over mocked commands: https://github.com/stipsan/ioredis-mock/blob/main/compat.md#supported-commands-',
    ));
    expect(Object.hasOwn(client, 'monitor')).toBe(false);
    expect(Object.hasOwn(client, 'get')).toBe(true); // real commands stay bound to each connection
    expect(typeof client.multi).toBe('function');
    expect(await world.client.multi().set('m', '1').get('m').exec()).toEqual([[null, 'OK'], [null, '1']]);
    await world.close();
  });

  it('ZREM / ZREMRANGEBY* work as commands too (they are replaced to drop emptied sets), with their replies', async () => {
    const world = createClockedRedisMock(new TestClock());
    const redis = world.client;
    await redis.zadd('z', 1, 'a b', 2, 'c', 3, 'd');
    expect(await redis.zrem('z', 'a b', 'missing')).toBe(1);
    expect(await redis.zremrangebyscore('z', 0, 2)).toBe(1);
    expect(await redis.zremrangebyrank('z', 0, 0)).toBe(1);
    expect(await redis.exists('z')).toBe(0); // emptied: gone, as in Redis
    await world.close();
  });

  it('keeps separate worlds apart', async () => {
    const clock = new TestClock();
    const a = createClockedRedisMock(clock);
    const b = createClockedRedisMock(clock);
    await a.client.set('x', '1');
    expect(await b.client.get('x')).toBeNull();
  });
});
