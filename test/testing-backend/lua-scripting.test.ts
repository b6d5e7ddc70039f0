import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { TestClock } from '../../testing/clock/index.js';
import { createClockedRedisMock } from '../../testing/redis-mock/index.js';
import { LuaScriptEngine, formatLuaNumber } from '../../testing/redis-mock/lua/engine.js';
import { installLuaScripting } from '../../testing/redis-mock/lua/scripting.js';
import type { RedisClient } from '../../src/ports/redis.js';
import type { LuaScript } from '../../src/redis/lua-script.js';
import { acquireAvailableScript, acquireLockScript, applyIfCurrentScript, extendLockScript, releaseLockScript } from '../../src/locks/lock.lua.js';
import { indexJobScript, indexQueueScript, jobPresenceScript, retireEntityScript, unindexJobScript, unindexJobsScript } from '../../src/index/index.lua.js';
import { refreshHeartbeatScript, releaseHeartbeatScript } from '../../src/workers/heartbeat.lua.js';

/** A reply or the error message, comparable across backends (errors thrown inside arrays become {error}). */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  const plain = (v: unknown): unknown =>
    v instanceof Error ? { error: v.message } : Array.isArray(v) ? v.map(plain) : v;
  try {
    return plain(await p);
  } catch (err) {
    return { rejected: (err as Error).message };
  }
}

/**
 * Each script runs with KEYS = 8 fresh keys and ARGV = ('a1', 'a2'), on the real Redis of the global setup and on
 * the clocked mock, in order (later scripts see what earlier ones wrote). Both must answer the same.
 */
const SCRIPTS = [
  // Lua → reply conversions
  'return 1.7', 'return -1.7', 'return true', 'return false', 'return nil', 'return 2^53', 'return 7/2',
  "return {1,2,nil,3}", "return {1,{2,'x'},false,3}", "local t = {} t[1] = 'a' t[3] = 'c' return t",
  "return {ok='FINE'}", "return {err='MYERR boom'}", "return {err='boom'}", "return {1, {err='inner'}, 3}",
  "return redis.error_reply('E1 nope')", "return redis.status_reply('YAY')", "return redis.sha1hex('abc')",
  // KEYS / ARGV, reply → Lua conversions, nil → false
  'return {#KEYS, #ARGV, ARGV[1], ARGV[2]}', "return redis.call('SET', KEYS[1], 'v')",
  "return redis.call('GET', KEYS[2])", "return type(redis.call('GET', KEYS[2]))",
  "return tostring(redis.call('INCR', KEYS[3]))",
  "return redis.call('HSET', KEYS[4], 'a', 1.5, 'b', 7, 'c', 0.1)", "return redis.call('HMGET', KEYS[4], 'a', 'zz', 'b', 'c')",
  "return type(redis.call('HGETALL', KEYS[4]))", "return #redis.call('HGETALL', KEYS[4])",
  "return redis.call('HINCRBY', KEYS[4], 'n', 5)", "return redis.call('TYPE', KEYS[4])['ok']", "return redis.call('TYPE', KEYS[4])",
  "return type(redis.call('SET', KEYS[8], 'w'))", "return redis.call('SET', KEYS[8], 'w2', 'GET')", "return redis.call('PING')['ok']",
  "return redis.call('RPUSH', KEYS[5], 'a', 'b') + redis.call('LLEN', KEYS[5])", "return redis.call('LRANGE', KEYS[5], 0, -1)",
  "return table.concat(redis.call('LRANGE', KEYS[5], 0, -1), ',')",
  "return redis.call('ZADD', KEYS[6], 1, 'a', 2.5, 'b')", "return redis.call('ZRANGE', KEYS[6], 0, -1, 'WITHSCORES')",
  "return redis.call('SADD', KEYS[7], 'x')", "return redis.call('SISMEMBER', KEYS[7], 'x')",
  "return redis.call('EXISTS', KEYS[1], KEYS[2])", "return redis.call('PEXPIRE', KEYS[1], 100000)",
  "return redis.call('set', KEYS[8], 'v', 'NX')", "return redis.call('set', KEYS[8], 'v', 'NX')", "return redis.call('DEL', KEYS[2])",
  // Lua 5.1 flavour: unpack, number printing
  'return {unpack({1,2})}', 'return tostring(3.0)', 'return tostring(7/2)', 'return tostring(2^53)', 'return tostring(0.00001)', 'return tostring(-1/3)',
  'return tostring(1e100)', 'return tostring(-0.0)', 'return math.floor(7/2)',
  // errors: redis.call raises, redis.pcall returns {err}, pcall sees the message, globals are read-only
  "return redis.call('NOPE')", "\nlocal a = 1\nreturn redis.call('NOPE')", "return redis.pcall('NOPE')",
  "return type(redis.pcall('NOPE'))", "return redis.pcall('NOPE')['err']", "local ok, e = pcall(redis.call, 'NOPE') return {ok and 1 or 0, e}",
  "return redis.call('SET', KEYS[1], true)", 'return redis.call()', "error('plain')", 'return x.y', 'x = 5 return x',
  'function f() return 1 end return f()', 'return (',
];

describe('Lua scripts on the clocked mock answer like Redis 7', () => {
  let real: Redis;
  beforeAll(() => {
    real = new Redis(inject('redisUrl'), { lazyConnect: false });
  });
  afterAll(async () => {
    await real.quit();
  });

  it('gives the same replies and errors as the real server for every script of the table', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    const prefix = `lua-diff-${randomUUID()}:`;
    const keys = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `${prefix}${i}`);
    try {
      const mismatches: unknown[] = [];
      for (const script of SCRIPTS) {
        const onRedis = await outcome(real.eval(script, keys.length, ...keys, 'a1', 'a2'));
        const onMock = await outcome(client.eval(script, keys.length, ...keys, 'a1', 'a2'));
        if (JSON.stringify(onRedis) !== JSON.stringify(onMock)) mismatches.push({ script, onRedis, onMock });
      }
      expect(mismatches).toEqual([]);
    } finally {
      await real.del(...keys);
    }
  });

  it('runs the service scripts of src/ (locks, index, heartbeats) to the same replies as the real server', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    const p = `lua-services-${randomUUID()}:`;
    const [lock1, fence1, lock2, fence2, target, jobs, counts, hb1, hb2] = [
      'lock1', 'fence1', 'lock2', 'fence2', 'target', 'jobs', 'counts', 'hb1', 'hb2',
    ].map((k) => p + k) as [string, string, string, string, string, string, string, string, string];
    const [touched, queues, types, queueEntity, workers, attempts] = ['touched', 'queues', 'types', 'qe', 'workers', 'attempts'].map((k) => p + k) as [string, string, string, string, string, string];
    const steps: [LuaScript, string[], (string | number)[]][] = [
      [acquireLockScript, [lock1, fence1], ['alice', 'user', 60_000]],
      [acquireLockScript, [lock1, fence1], ['bob', 'user', 60_000]],
      [acquireLockScript, [lock1, fence1], ['alice', 'admin', 60_000]],
      [extendLockScript, [lock1], ['bob', 60_000]],
      [extendLockScript, [lock1], ['alice', 90_000]],
      [acquireAvailableScript(2), [lock1, fence1, lock2, fence2], ['carol', 'svc', 60_000]],
      [acquireAvailableScript(2), [lock1, fence1, lock2, fence2], ['dave', 'svc', 60_000]],
      [applyIfCurrentScript, [fence1, target], [0, 'set', 'stale']],
      [applyIfCurrentScript, [fence1, p + 'counter'], [1, 'incrby', 5]],
      [applyIfCurrentScript, [fence2, target], [1, 'rpush', 'ok']],
      [releaseLockScript, [lock1], ['bob']],
      [releaseLockScript, [lock1], ['alice']],
      [acquireLockScript, [lock1, fence1], ['bob', 'user', 60_000]],
      [releaseLockScript, [lock2], ['']],
      [indexJobScript, [jobs, counts, touched, queues, types], ['j1', 'e1', 'order']],
      [indexJobScript, [jobs, counts, touched, queues, types], ['j1', 'e1', 'order']],
      [indexQueueScript, [queues, queueEntity, touched, types], ['e1', 'q1', 'order:e1', 'order']],
      [indexJobScript, [jobs, counts, touched, queues, types], ['j2', 'e1', 'order']],
      [retireEntityScript, [jobs, counts, touched, queues, queueEntity, workers, attempts, hb1], ['e1', 'q1', 0, '', 10, 'order:e1']],
      [unindexJobScript, [jobs, counts, touched], ['j1', 'e1']],
      [unindexJobScript, [jobs, counts, touched], ['j1', 'e1']],
      [unindexJobsScript, [jobs, counts], ['e1', 'j2', 'j3']],
      [jobPresenceScript, [p + 'q:done', p + 'q:live', p + 'q:missing'], []],
      [retireEntityScript, [jobs, counts, touched, queues, queueEntity, workers, attempts, hb1], ['e1', 'q1', 0, '', 10, 'order:e1']],
      [retireEntityScript, [jobs, counts, touched, queues, queueEntity, workers, attempts, p + 'no-hb'], ['e1', 'q1', 0, p + 'q:', 10, 'order:e1', 'e1:w']],
      [refreshHeartbeatScript, [hb1], ['node|1', 5_000]],
      [refreshHeartbeatScript, [hb2], ['node|2', 5_000]],
      [releaseHeartbeatScript, [hb1], ['node|1']],
    ];
    // an applied fenced write ends with the server's time, which differs between the worlds: compare its type
    const withoutTime = (script: LuaScript, reply: unknown) =>
      script === applyIfCurrentScript && Array.isArray(reply) && reply.length === 4 ? [reply[0], reply[1], typeof reply[2], typeof reply[3]] : reply;
    const seed = async (r: RedisClient) => {
      await r.set(hb1, 'node|1', 'PX', 60_000);
      await r.set(hb2, 'node|other', 'PX', 60_000);
      await r.hset(p + 'q:done', 'finishedOn', 1);
      await r.hset(p + 'q:live', 'timestamp', 1);
    };
    const runAll = async (r: RedisClient) => {
      await seed(r);
      const replies: unknown[] = [];
      for (const [script, keys, args] of steps) replies.push(withoutTime(script, await outcome(script.run(r, keys, args))));
      replies.push(await r.hgetall(lock1), await r.lrange(target, 0, -1), await r.hgetall(counts), await r.exists(hb1), await r.get(p + 'counter'));
      replies.push(await r.hgetall(queues), await r.hgetall(queueEntity), await r.zcard(touched), await r.exists(touched, jobs), await r.smembers(types)); // emptied sorted sets are gone
      return replies;
    };
    try {
      const onRedis = await runAll(real as unknown as RedisClient);
      expect(onRedis[0]).toEqual([1, 1, 'alice', 'user']); // the steps do something: a first lock gets token 1
      expect(onRedis.slice(14, 25)).toEqual([[1, 0], [1, 0], 1, [2, 1], 'pending', 1, 0, 1, [1, 2, 0], 'worker', 'retired']);
      expect(await runAll(client as unknown as RedisClient)).toEqual(onRedis);
    } finally {
      await real.del(lock1, fence1, lock2, fence2, target, jobs, counts, hb1, hb2, p + 'counter', touched, queues, types, queueEntity, workers, attempts, p + 'q:done', p + 'q:live');
    }
  });

  it('rejects a bad key count like the real server', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    for (const numKeys of ['2', '-1']) {
      const onRedis = await outcome(real.eval('return 1', numKeys, 'only-one-arg'));
      expect(await outcome(client.eval('return 1', numKeys, 'only-one-arg'))).toEqual(onRedis);
    }
    expect(await outcome(client.eval('return 1', 'x'))).toEqual({ rejected: 'ERR value is not an integer or out of range (numkeys "x")' });
  });
});

describe('fast Lua scripting on the clocked mock', () => {
  it('runs redis.call on the same data world, with TTLs and Date.now on the test clock', async () => {
    const clock = new TestClock();
    const world = createClockedRedisMock(clock);
    await clock.advance(5_000);
    const setWithTtl = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return redis.call('PTTL', KEYS[1])`;
    expect(await world.client.eval(setWithTtl, 1, 'hb', 'w1', 100)).toBe(100);
    expect(await world.duplicate().get('hb')).toBe('w1');
    await clock.advance(99);
    expect(await world.client.eval(`return redis.call('PTTL', KEYS[1])`, 1, 'hb')).toBe(1);
    await clock.advance(1);
    expect(await world.client.eval(`return redis.call('GET', KEYS[1])`, 1, 'hb')).toBeNull();
  });

  it('answers TIME from the test clock, as a command and inside scripts, in the reply shape of Redis', async () => {
    const clock = new TestClock({ start: 1_700_000_000_123 });
    const { client } = createClockedRedisMock(clock);
    expect(await client.time()).toEqual(['1700000000', '123000']);
    await clock.advance(5_000);
    expect(await client.eval(`return redis.call('TIME')`, 0)).toEqual(['1700000005', '123000']);
  });

  it('keeps the key prefix of the connection, like ioredis-mock commands', async () => {
    const clock = new TestClock();
    const name = `lua-prefix-${randomUUID()}`;
    const prefixed = createClockedRedisMock(clock, { keyPrefix: 'p:', world: name });
    const raw = createClockedRedisMock(clock, { world: name });
    expect(await prefixed.client.eval(`return redis.call('SET', KEYS[1], 'v')`, 1, 'k')).toBe('OK');
    expect(await prefixed.client.get('k')).toBe('v');
    expect(await raw.client.get('p:k')).toBe('v');
    expect(await raw.client.get('k')).toBeNull();
  });

  it('shares loaded scripts within a data world, not across worlds (EVALSHA → NOSCRIPT)', async () => {
    const clock = new TestClock();
    const a = createClockedRedisMock(clock);
    const b = createClockedRedisMock(clock);
    const source = `return ARGV[1] .. '!'`;
    const sha = (await import('node:crypto')).createHash('sha1').update(source).digest('hex');
    await expect(a.client.evalsha(sha, 0, 'x')).rejects.toThrow('NOSCRIPT No matching script. Please use EVAL.');
    expect(await a.client.eval(source, 0, 'x')).toBe('x!');
    expect(await a.duplicate().evalsha(sha, 0, 'y')).toBe('y!');
    await expect(b.client.evalsha(sha, 0, 'z')).rejects.toThrow('NOSCRIPT');
  });

  it('does not let one call see globals or KEYS of another (fresh environment per call)', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    await expect(client.eval('leak = 1 return 1', 0)).rejects.toThrow('Attempt to modify a readonly table');
    await expect(client.eval('return leak', 0)).rejects.toThrow("Script attempted to access nonexistent global variable 'leak'");
    expect(await client.eval('return #KEYS .. ARGV[1]', 2, 'k1', 'k2', 'a')).toBe('2a');
    expect(await client.eval('return #KEYS .. #ARGV', 0)).toBe('00');
  });

  it('compiles each distinct source once, however often and on however many connections it runs', async () => {
    const engine = new LuaScriptEngine();
    const one = installLuaScripting(new (RedisMock as unknown as new (o: object) => Redis)({ host: `compile-${randomUUID()}` }), engine);
    const two = installLuaScripting(one.duplicate(), engine);
    for (let i = 0; i < 5; i++) await one.eval(`return redis.call('INCR', KEYS[1])`, 1, 'n');
    expect(await two.eval(`return redis.call('INCR', KEYS[1])`, 1, 'n')).toBe(6);
    expect(engine.cachedScripts).toBe(1);
    await two.eval('return 2', 0);
    expect(engine.cachedScripts).toBe(2);
  });

  it('passes the emulator error of redis.call on with the script position', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    await client.set('s', 'text');
    const err = await client.eval(`\nreturn redis.call('LPUSH', KEYS[1], 'x')`, 1, 's').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/does not contain a list script: [0-9a-f]{40}, on @user_script:2\.$/);
  });

  it('refuses commands a script may not call', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    await expect(client.eval(`return redis.call('EVAL', 'return 1', 0)`, 0)).rejects.toThrow(
      'ERR This Redis command is not allowed from script',
    );
    await expect(client.eval(`return redis.call('MULTI')`, 0)).rejects.toThrow('not allowed from script');
  });

  it('supports defineCommand (fixed and dynamic key counts), pipelines, multi, callbacks and Buffer replies', async () => {
    const { client } = createClockedRedisMock(new TestClock());
    client.defineCommand('setget', { numberOfKeys: 1, lua: `redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])` });
    client.defineCommand('countkeys', { lua: 'return #KEYS * 10 + #ARGV' });
    const custom = client as unknown as {
      setget(k: string, v: string): Promise<string>;
      setgetBuffer(k: string, v: string): Promise<Buffer>;
      countkeys(n: number, ...rest: string[]): Promise<number>;
    };
    expect(await custom.setget('a', '1')).toBe('1');
    expect(await custom.setgetBuffer('a', '2')).toEqual(Buffer.from('2'));
    expect(await custom.countkeys(2, 'k1', 'k2', 'arg')).toBe(21);
    expect(await (client as unknown as { evalBuffer: Redis['eval'] }).evalBuffer(`return {ARGV[1], 3}`, 0, 'bytes')).toEqual([Buffer.from('bytes'), 3]);

    const replies = await (client.pipeline() as unknown as { setget(k: string, v: string): unknown; exec(): Promise<unknown> })
      .setget('b', 'x');
    expect(await (replies as { exec(): Promise<unknown> }).exec()).toEqual([[null, 'x']]);
    expect(await client.multi().eval(`return redis.call('INCR', KEYS[1])`, 1, 'm').incr('m').exec()).toEqual([
      [null, 1],
      [null, 2],
    ]);
    expect(await client.pipeline([['eval', 'return ARGV[1]', 0, 'from-array']]).exec()).toEqual([[null, 'from-array']]);

    const viaCallback = await new Promise((resolve, reject) =>
      client.eval('return ARGV[1]', 0, 'cb', (err: unknown, reply: unknown) => (err ? reject(err) : resolve(reply))),
    );
    expect(viaCallback).toBe('cb');
  });

  it('rejects scripts on a connection in subscriber mode, as other commands are', async () => {
    const { subscriber } = createClockedRedisMock(new TestClock());
    await subscriber.subscribe('ch');
    await expect(subscriber.eval('return 1', 0)).rejects.toThrow('Connection in subscriber mode');
  });

  it('formats float command arguments like Redis %.17g', () => {
    expect(formatLuaNumber(3, true)).toBe('3');
    expect(formatLuaNumber(1.5, false)).toBe('1.5');
    expect(formatLuaNumber(0.1, false)).toBe('0.10000000000000001');
    expect(formatLuaNumber(1e21, false)).toBe('1e+21');
    expect(formatLuaNumber(2.5e-7, false)).toBe('2.4999999999999999e-07');
    expect(formatLuaNumber(Infinity, false)).toBe('inf');
  });
});
