import { Test } from '@nestjs/testing';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { describeRedisAddress, isConnectionError } from '../../src/drivers/redis-watch.js';
import { AtomicQueuesConnectionError, AtomicQueuesModule } from '../../src/index.js';
import { getFreePort } from '../../testing/redis-server.js';

describe('describeRedisAddress', () => {
  it('names host:port, never the password', () => {
    const clients = [
      new Redis('redis://:s3cret@10.0.0.5:6380/2', { lazyConnect: true }),
      new Redis({ host: 'cache.internal', port: 7000, password: 's3cret', lazyConnect: true }),
      new Redis({ lazyConnect: true }),
      new Redis({ path: '/tmp/redis.sock', lazyConnect: true }),
    ];
    expect(clients.map(describeRedisAddress)).toEqual(['10.0.0.5:6380', 'cache.internal:7000', 'localhost:6379', '/tmp/redis.sock']);
    const cluster = new Cluster([{ host: 'n1', port: 7000 }, 'redis://:pw@n2:7001'], { lazyConnect: true });
    expect(describeRedisAddress(cluster)).toBe('cluster n1:7000,n2:7001');
    for (const c of [...clients, cluster]) c.disconnect();
  });

  it('tells connection errors (reported once by the watch) from others', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(isConnectionError(refused)).toBe(true);
    expect(isConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isConnectionError(new Error('ERR unknown command'))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
  });
});

describe('bootstrap with a user connection (redis.connection)', () => {
  it('fails within connectTimeoutMs naming its address, and leaves the user connection open (the user owns it)', async () => {
    const port = await getFreePort();
    const connection = new Redis({ port, lazyConnect: true, retryStrategy: () => 200 });
    connection.on('error', () => undefined);
    const app = await Test.createTestingModule({ imports: [AtomicQueuesModule.forRoot({ redis: { connection, connectTimeoutMs: 600 } })] }).compile();
    const started = Date.now();
    const err = await app.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConnectionError);
    expect((err as Error).message).toMatch(new RegExp(`^Redis at localhost:${port}: not reachable within 600 ms .*ECONNREFUSED`));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(connection.status).not.toBe('end');
    await app.close();
    connection.disconnect();
  });
});
