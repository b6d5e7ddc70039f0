import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { resolveConfig } from '../../src/config/atomic-queues-config.js';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { ResourceLockService } from '../../src/locks/resource-lock.service.js';
import type { RedisClient } from '../../src/ports/redis.js';
import { waitFor } from '../support/wait.js';

/**
 * Every case runs on a real Redis (the suite's private server) and on ioredis-mock, so the Lua stays portable.
 * Each test gets its own keyPrefix; nothing is flushed.
 */
interface Backend {
  name: string;
  /** A new client; `real` clients are separate TCP connections (true concurrency on the server). */
  connect(): RedisClient;
  /** Waits until a lock with `ttlSeconds` has expired: real Redis polls, the mock's lazy expiry follows Date. */
  expire(svc: ResourceLockService, type: string, id: string, ttlSeconds: number): Promise<void>;
}

const backends: Backend[] = [
  {
    name: 'real Redis',
    connect: () => new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 }),
    async expire(svc, type, id, ttlSeconds) {
      await waitFor(async () => (await svc.getLockOwner(type, id)) === null, ttlSeconds * 1000 + 3000, `lock ${type}/${id} to expire`, 50);
    },
  },
  {
    name: 'ioredis-mock',
    connect: () => new RedisMock() as unknown as RedisClient,
    async expire(svc, type, id, ttlSeconds) {
      // the lock was taken a few ms ago: 250 ms before its TTL it is still held, 250 ms after it is gone
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + ttlSeconds * 1000 - 250);
      expect(await svc.getLockOwner(type, id)).not.toBeNull();
      vi.setSystemTime(Date.now() + 500);
    },
  },
];

describe.each(backends)('ResourceLockService on $name', (backend) => {
  const clients: RedisClient[] = [];
  const service = (prefix: string, client = backend.connect()): ResourceLockService => {
    clients.push(client);
    return new ResourceLockService(client, resolveConfig({ redis: { connection: client }, keyPrefix: prefix }));
  };
  const newPrefix = () => `lk-${randomBytes(6).toString('hex')}`;

  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  it('acquires a free lock, refuses another owner and reports the holder', async () => {
    const svc = service(newPrefix());
    const first = await svc.acquireLock('printer', 'p1', 'alice', 'user', 30);
    expect(first).toEqual({ acquired: true, fencingToken: 1, owner: { ownerId: 'alice', ownerType: 'user' } });
    const second = await svc.acquireLock('printer', 'p1', 'bob', 'job', 30);
    expect(second).toEqual({ acquired: false, owner: { ownerId: 'alice', ownerType: 'user' } });
    expect(await svc.getLockOwner('printer', 'p1')).toEqual({ ownerId: 'alice', ownerType: 'user', fencingToken: 1 });
    expect(await svc.getLockOwner('printer', 'p2')).toBeNull();
    // another resource of the same type has its own token sequence
    expect((await svc.acquireLock('printer', 'p2', 'bob', 'job', 30)).fencingToken).toBe(1);
  });

  it('re-acquisition by the holder keeps the token and resets the expiry', async () => {
    const prefix = newPrefix();
    const client = backend.connect();
    const svc = service(prefix, client);
    await svc.acquireLock('acct', 'a', 'w1', 'worker', 5);
    const again = await svc.acquireLock('acct', 'a', 'w1', 'other-type', 100);
    expect(again).toEqual({ acquired: true, fencingToken: 1, owner: { ownerId: 'w1', ownerType: 'worker' } });
    const pttl = await client.pttl(`${prefix}:lock:acct:a`);
    expect(pttl).toBeGreaterThan(5000);
    expect(pttl).toBeLessThanOrEqual(100_000);
  });

  it('releases only for the holder, or unconditionally without ownerId', async () => {
    const svc = service(newPrefix());
    await svc.acquireLock('r', '1', 'alice', 'user', 30);
    expect(await svc.releaseLock('r', '1', 'bob')).toBe(false);
    expect(await svc.getLockOwner('r', '1')).not.toBeNull();
    expect(await svc.releaseLock('r', '1', 'alice')).toBe(true);
    expect(await svc.getLockOwner('r', '1')).toBeNull();
    expect(await svc.releaseLock('r', '1', 'alice')).toBe(false);

    await svc.acquireLock('r', '1', 'carol', 'user', 30);
    expect(await svc.releaseLock('r', '1')).toBe(true);
    expect(await svc.releaseLock('r', '1')).toBe(false);
  });

  it('extends only the holder’s lock', async () => {
    const prefix = newPrefix();
    const client = backend.connect();
    const svc = service(prefix, client);
    expect(await svc.extendLock('r', 'x', 'alice', 10)).toBe(false);
    await svc.acquireLock('r', 'x', 'alice', 'user', 2);
    expect(await svc.extendLock('r', 'x', 'bob', 60)).toBe(false);
    expect(await client.pttl(`${prefix}:lock:r:x`)).toBeLessThanOrEqual(2000);
    expect(await svc.extendLock('r', 'x', 'alice', 60)).toBe(true);
    expect(await client.pttl(`${prefix}:lock:r:x`)).toBeGreaterThan(2000);
    expect(await svc.getLockOwner('r', 'x')).toEqual({ ownerId: 'alice', ownerType: 'user', fencingToken: 1 });
  });

  it('expires after its TTL; the next holder gets a higher token and the stale holder is fenced off', async () => {
    const svc = service(newPrefix());
    const a = await svc.acquireLock('doc', 'd1', 'alice', 'user', 1);
    await backend.expire(svc, 'doc', 'd1', 1);
    expect(await svc.getLockOwner('doc', 'd1')).toBeNull();
    expect(await svc.extendLock('doc', 'd1', 'alice', 10)).toBe(false);
    // nobody took it yet: alice's token is still the latest one
    expect(await svc.checkFencingToken('doc', 'd1', a.fencingToken!)).toBe(true);

    const b = await svc.acquireLock('doc', 'd1', 'bob', 'user', 30);
    expect(b.acquired).toBe(true);
    expect(b.fencingToken).toBeGreaterThan(a.fencingToken!);
    expect(await svc.checkFencingToken('doc', 'd1', a.fencingToken!)).toBe(false);
    expect(await svc.checkFencingToken('doc', 'd1', b.fencingToken!)).toBe(true);
    expect(await svc.getLatestFencingToken('doc', 'd1')).toBe(b.fencingToken);
  });

  /** An applied fenced write: its latest token, and the server time it took effect (checked in its own test). */
  const applied = (latestToken: number) => ({ applied: true, latestToken, appliedAt: expect.any(Number) as unknown });

  it('applyIfCurrent applies writes with the latest token and rejects stale ones', async () => {
    const prefix = newPrefix();
    const client = backend.connect();
    const svc = service(prefix, client);
    const log = `${prefix}:effects`;
    const counter = `${prefix}:counter`;
    const last = `${prefix}:last`;
    expect(await svc.getLatestFencingToken('acct', '9')).toBe(0);
    expect(await svc.applyIfCurrent('acct', '9', 1, { key: log, op: 'rpush', value: 'never-locked' })).toEqual({ applied: false, latestToken: 0 });

    const a = (await svc.acquireLock('acct', '9', 'alice', 'user', 30)).fencingToken!;
    expect(await svc.applyIfCurrent('acct', '9', a, { key: log, op: 'rpush', value: 'a1' })).toEqual(applied(a));
    expect(await svc.applyIfCurrent('acct', '9', a, { key: counter, op: 'incrby', value: 5 })).toEqual(applied(a));
    await svc.releaseLock('acct', '9', 'alice');
    const b = (await svc.acquireLock('acct', '9', 'bob', 'user', 30)).fencingToken!;
    expect(await svc.applyIfCurrent('acct', '9', a, { key: log, op: 'rpush', value: 'a2' })).toEqual({ applied: false, latestToken: b });
    expect(await svc.applyIfCurrent('acct', '9', a, { key: counter, op: 'incrby', value: 100 })).toEqual({ applied: false, latestToken: b });
    expect(await svc.applyIfCurrent('acct', '9', b, { key: last, op: 'set', value: 'b' })).toEqual(applied(b));
    // a token that was never issued is not current either
    expect((await svc.applyIfCurrent('acct', '9', b + 1, { key: last, op: 'set', value: 'forged' })).applied).toBe(false);

    expect(await client.lrange(log, 0, -1)).toEqual(['a1']);
    expect(await client.get(counter)).toBe('5');
    expect(await client.get(last)).toBe('b');
  });

  it('applyIfCurrent reports when the server applied the write (TIME inside the script), not when the reply came', async () => {
    const svc = service(newPrefix());
    const token = (await svc.acquireLock('acct', 't', 'alice', 'user', 30)).fencingToken!;
    const before = Date.now();
    const write = await svc.applyIfCurrent('acct', 't', token, { key: `${newPrefix()}:log`, op: 'rpush', value: 'x' });
    const after = Date.now();
    if (backend.name === 'real Redis') {
      expect(write.appliedAt).toBeGreaterThanOrEqual(before - 1); // TIME is floored to the ms
      expect(write.appliedAt).toBeLessThanOrEqual(after);
    } else {
      // plain ioredis-mock's TIME is rounded seconds plus a process.hrtime fragment; the clocked mock of ./testing
      // replaces it with the test clock's time (lua-scripting.test.ts)
      expect(write.appliedAt).toEqual(expect.any(Number));
    }
    const rejected = await svc.applyIfCurrent('acct', 't', token + 1, { key: `${newPrefix()}:log`, op: 'rpush', value: 'y' });
    expect(rejected).toEqual({ applied: false, latestToken: token });
  });

  it('fencing tokens strictly increase under contention, with exactly one winner per round', async () => {
    const prefix = newPrefix();
    const contenders = Array.from({ length: 8 }, () => service(prefix));
    let previous = 0;
    for (let round = 0; round < 15; round++) {
      const results = await Promise.all(contenders.map((svc, i) => svc.acquireLock('hot', 'h', `owner-${i}`, 'node', 30)));
      const winners = results.flatMap((r, i) => (r.acquired ? [{ i, token: r.fencingToken! }] : []));
      expect(winners).toHaveLength(1);
      const [winner] = winners;
      expect(winner!.token).toBeGreaterThan(previous);
      for (const r of results) if (!r.acquired) expect(r.owner).toEqual({ ownerId: `owner-${winner!.i}`, ownerType: 'node' });
      previous = winner!.token;
      expect(await contenders[(winner!.i + 1) % contenders.length]!.releaseLock('hot', 'h', `owner-${winner!.i}`)).toBe(true);
    }
    expect(previous).toBe(15);
  });

  it('getAvailableResource locks the first free id and returns null when the pool is exhausted', async () => {
    const svc = service(newPrefix());
    const pool = ['a', 'b', 'c'];
    await svc.acquireLock('gpu', 'a', 'other', 'job', 30);
    expect(await svc.getAvailableResource('gpu', pool, 'me', 'job')).toEqual({ resourceId: 'b', fencingToken: 1 });
    // a resource the caller already holds is not free: it gets the next one
    expect(await svc.getAvailableResource('gpu', pool, 'me', 'job', 10)).toEqual({ resourceId: 'c', fencingToken: 1 });
    expect(await svc.getAvailableResource('gpu', pool, 'third', 'job')).toBeNull();
    expect(await svc.getLockOwner('gpu', 'c')).toEqual({ ownerId: 'me', ownerType: 'job', fencingToken: 1 });
    await svc.releaseLock('gpu', 'a');
    expect(await svc.getAvailableResource('gpu', pool, 'third', 'job')).toEqual({ resourceId: 'a', fencingToken: 2 });
  });

  it('getAvailableResource never hands one id to two concurrent callers', async () => {
    const prefix = newPrefix();
    const pool = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const callers = Array.from({ length: 12 }, () => service(prefix));
    const got = await Promise.all(callers.map((svc, i) => svc.getAvailableResource('conn', pool, `caller-${i}`, 'worker', 30)));
    const granted = got.filter((g) => g !== null);
    expect(granted).toHaveLength(pool.length);
    expect(new Set(granted.map((g) => g.resourceId))).toEqual(new Set(pool));
    for (const [i, g] of got.entries()) {
      if (g) expect((await callers[0]!.getLockOwner('conn', g.resourceId))?.ownerId).toBe(`caller-${i}`);
    }
  });
});

describe('ResourceLockService input validation (before any Redis call)', () => {
  // A client whose every command throws: validation must fail first.
  const dead = new Proxy({} as RedisClient, {
    get: (_t, prop) => (prop === 'duplicate' ? () => dead : () => Promise.reject(new Error(`unexpected Redis call ${String(prop)}`))),
  });
  const svc = new ResourceLockService(dead, resolveConfig({ redis: { connection: dead }, keyPrefix: 'unused' }));
  const cases: [string, () => Promise<unknown>, string][] = [
    ['empty resourceType', () => svc.acquireLock('', 'x', 'o', 't', 1), 'resourceType'],
    ["':' in resourceId", () => svc.acquireLock('t', 'a:b', 'o', 't', 1), 'resourceId'],
    ['{ in resourceType', () => svc.releaseLock('t{x}', 'a'), 'resourceType'],
    ['whitespace in resourceId', () => svc.getLockOwner('t', 'a b'), 'resourceId'],
    ['non-string resourceId', () => svc.extendLock('t', 42 as unknown as string, 'o', 1), 'resourceId'],
    ['empty ownerId', () => svc.acquireLock('t', 'a', '', 't', 1), 'ownerId'],
    ['missing ownerType', () => svc.acquireLock('t', 'a', 'o', undefined as unknown as string, 1), 'ownerType'],
    ['empty ownerId on release', () => svc.releaseLock('t', 'a', ''), 'ownerId'],
    ['zero ttl', () => svc.acquireLock('t', 'a', 'o', 't', 0), 'ttlSeconds'],
    ['fractional ttl', () => svc.extendLock('t', 'a', 'o', 1.5), 'ttlSeconds'],
    ['huge ttl', () => svc.acquireLock('t', 'a', 'o', 't', 10 ** 12), 'ttlSeconds'],
    ['empty ids', () => svc.getAvailableResource('t', [], 'o', 't'), 'resourceIds'],
    ['ids not an array', () => svc.getAvailableResource('t', 'a' as unknown as string[], 'o', 't'), 'resourceIds'],
    ['bad id in pool', () => svc.getAvailableResource('t', ['ok', 'b:d'], 'o', 't'), 'resourceIds[1]'],
    ['negative ttl in pool', () => svc.getAvailableResource('t', ['ok'], 'o', 't', -1), 'ttlSeconds'],
    ['zero token', () => svc.checkFencingToken('t', 'a', 0), 'token'],
    ['non-integer token', () => svc.applyIfCurrent('t', 'a', 1.2, { key: 'k', op: 'set', value: 'v' }), 'token'],
    ['unknown write op', () => svc.applyIfCurrent('t', 'a', 1, { key: 'k', op: 'lpush' as 'set', value: 'v' }), 'write.op'],
    ['empty write key', () => svc.applyIfCurrent('t', 'a', 1, { key: '', op: 'set', value: 'v' }), 'write.key'],
    ['non-integer incrby', () => svc.applyIfCurrent('t', 'a', 1, { key: 'k', op: 'incrby', value: 'x' }), 'write.value'],
  ];
  it.each(cases)('%s', async (_name, call, argument) => {
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    expect((err as AtomicQueuesValidationError).argument).toBe(argument);
    expect((err as Error).message).toContain(`Invalid ${argument}:`);
  });

  it('names the accepted write ops', async () => {
    await expect(svc.applyIfCurrent('t', 'a', 1, { key: 'k', op: 'del' as 'set', value: 'v' })).rejects.toThrow("'set' | 'rpush' | 'incrby'");
  });
});
