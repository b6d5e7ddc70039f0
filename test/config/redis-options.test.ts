import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { AtomicQueuesConfigError } from '../../src/index.js';
// Internals: the config resolution and the one place that builds every connection (the module's and BullMQ's).
import { resolveConfig, type AtomicQueuesRedisConfig } from '../../src/config/atomic-queues-config.js';
import { createRedisClient } from '../../src/drivers/redis-client.js';
import { RedisQueueDriver } from '../../src/drivers/redis-queue-driver.js';
import type { RedisClient } from '../../src/ports/redis.js';

const configError = (redis: unknown): AtomicQueuesConfigError => {
  try {
    resolveConfig({ redis } as never);
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    return err as AtomicQueuesConfigError;
  }
  throw new Error(`expected ${JSON.stringify(redis)} to be refused`);
};

describe('redis.username, redis.tls and redis.db: validation', () => {
  it('accepts an ACL user, TLS options and any database index (the server decides how many it has)', () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\n…');
    const { redis } = resolveConfig({ redis: { host: 'redis.internal', port: 6380, username: 'aq', password: 's3cret', db: 31, tls: { ca, servername: 'redis.internal' } } });
    expect(redis).toMatchObject({ username: 'aq', password: 's3cret', db: 31, tls: { servername: 'redis.internal' } });
    expect(redis.tls?.ca).toBe(ca);
    expect(resolveConfig({ redis: { url: 'rediss://redis.internal:6380', tls: {} } }).redis.tls).toEqual({});
    expect(resolveConfig({ redis: { port: 6379, db: 1000 } }).redis.db).toBe(1000);
  });

  it.each([
    [{ port: 6379, username: '' }, 'redis.username', /must be a non-empty string/],
    [{ port: 6379, username: 42 }, 'redis.username', /must be a non-empty string/],
    [{ port: 6379, tls: true }, 'redis.tls', /must be an object of node:tls connect options \(\{\} for TLS with the system's CAs\) \(got "\[boolean\]"\)/],
    [{ port: 6379, tls: '-----BEGIN PRIVATE KEY-----' }, 'redis.tls', /got "\[string\]"/],
    [{ port: 6379, db: -1 }, 'redis.db', /must be an integer in \[0, 9007199254740991\]/],
    [{ port: 6379, db: 1.5 }, 'redis.db', /must be an integer/],
    [{ port: 6379, tlss: {} }, 'redis.tlss', /is not a known option; accepted: host, port, username, password, db, tls, url/],
  ])('refuses %j naming %s', (redis, path, message) => {
    const err = configError(redis);
    expect(err.path).toBe(path);
    expect(err.message).toMatch(message);
  });

  it('never prints a TLS option that is not an object (it may be a key)', () => {
    expect(configError({ port: 6379, tls: '-----BEGIN PRIVATE KEY-----' }).message).not.toContain('PRIVATE KEY');
  });

  it('refuses username or tls beside an existing connection (the connection carries its own)', () => {
    const connection = new Redis({ lazyConnect: true });
    try {
      for (const extra of [{ username: 'aq' }, { tls: {} }]) {
        const err = configError({ connection, ...extra });
        expect(err.path).toBe('redis');
        expect(err.message).toMatch(/takes either connection or url\/host\/port\/username\/password\/db\/tls, not both/);
      }
    } finally {
      connection.disconnect();
    }
  });
});

describe('the options reach every connection ioredis opens (module and BullMQ)', () => {
  const clients: RedisClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  // Port 1 on loopback: nothing listens, nothing is sent; we only read the options each client was built with.
  const settings = (extra: Partial<AtomicQueuesRedisConfig>) => resolveConfig({ redis: { host: '127.0.0.1', port: 1, connectTimeoutMs: 50, ...extra } }).redis;
  const quiet = (c: RedisClient) => {
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };

  it('createRedisClient passes username, password, db and tls to ioredis', () => {
    const tls = { servername: 'redis.internal', rejectUnauthorized: true };
    const client = quiet(createRedisClient(settings({ username: 'aq', password: 'pw', db: 20, tls })));
    expect(client.options).toMatchObject({ username: 'aq', password: 'pw', db: 20, tls });
  });

  it('settings beside a URL override its parts; a rediss:// URL alone turns TLS on', () => {
    const client = quiet(createRedisClient(resolveConfig({ redis: { url: 'redis://u1:p1@127.0.0.1:1/3', username: 'aq', db: 20, tls: { servername: 'x' } } }).redis));
    expect(client.options).toMatchObject({ username: 'aq', password: 'p1', db: 20, tls: { servername: 'x' } });
    const secure = quiet(createRedisClient(resolveConfig({ redis: { url: 'rediss://127.0.0.1:1' } }).redis));
    expect((secure.options as { tls?: unknown }).tls).toBeTruthy();
  });

  it("the queue driver's BullMQ queue and worker connections carry them too", async () => {
    const redis = settings({ username: 'aq', password: 'pw', db: 20, tls: { servername: 'redis.internal' } });
    const driver = new RedisQueueDriver(redis);
    const queue = driver.createQueue('q', { prefix: 'p' });
    const worker = driver.createWorker('q', async () => undefined, { prefix: 'p', autorun: false });
    try {
      // The connections the driver handed to BullMQ (opts.connection): one for queues, one for workers.
      const connections = [queue.opts.connection, worker.opts.connection] as RedisClient[];
      expect(connections[0]).not.toBe(connections[1]);
      for (const client of connections) {
        client.on('error', () => undefined);
        expect(client.options).toMatchObject({ username: 'aq', password: 'pw', db: 20, tls: { servername: 'redis.internal' } });
      }
    } finally {
      await Promise.allSettled([queue.close(), worker.close(), driver.close()]);
    }
  });
});
