import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AtomicQueuesConfigError,
  AtomicQueuesConnectionError,
  AtomicQueuesModule,
  QueueManagerService,
  WorkerManagerService,
  entityWorkerName,
  type AtomicQueuesRedisConfig,
} from '../../src/index.js';
import { getFreePort, startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { FAST_WORKERS, deferred, uniquePrefix, waitFor } from '../core/support.js';

/**
 * The Redis connection settings against servers started for this file: an ACL user on a server whose `default`
 * user is disabled and which has 32 databases, and a TLS-only server. Each boots the module, runs one entity job
 * and checks, from the server's side, that every connection of the module (its own and BullMQ's) authenticated
 * as the user, selected the database, and (TLS) could only have connected through TLS.
 */
const USER = 'aq-app';
const PASSWORD = 'aq-s3cret';

async function runOneJob(redis: AtomicQueuesRedisConfig, nodeId: string): Promise<TestingModule> {
  const keyPrefix = uniquePrefix();
  const app = await Test.createTestingModule({
    imports: [AtomicQueuesModule.forRoot({ redis, keyPrefix, nodeId, workerDefaults: FAST_WORKERS, shutdownTimeoutMs: 2000 })],
  }).compile();
  await app.init();
  const queues = app.get(QueueManagerService);
  const job = await queues.addEntityJob('order', 'o1', 'charge', { amount: 1 });
  const done = deferred<string>();
  await app.get(WorkerManagerService).createWorker({
    workerName: entityWorkerName('order', 'o1'),
    queueName: job.queueName,
    processor: async (j) => done.resolve(String(j.id)),
  });
  expect(await done.promise).toBe(job.id);
  await waitFor(async () => (await queues.getJobCounts(job.queueName)).completed === 1, 5000, 'job completed');
  return app;
}

/** `CLIENT LIST` lines of the connections the module named after `nodeId` (cmd, sub, hb, queues, workers). */
async function moduleClients(observer: Redis, nodeId: string): Promise<Array<Record<string, string>>> {
  const list = (await observer.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.includes(` name=aq:${nodeId}:`))
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string])));
}

describe('ACL user and a database beyond 15', () => {
  let server: RedisServerHandle;
  let observer: Redis;

  beforeAll(async () => {
    server = await startRedisServer({
      args: ['--databases', '32', '--user', 'default', 'off', '--user', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all'],
    });
    observer = new Redis({ host: server.host, port: server.port, username: USER, password: PASSWORD });
  });
  afterAll(async () => {
    observer?.disconnect();
    await server?.stop();
  });

  it('every connection authenticates as the ACL user and works in database 20', async () => {
    const nodeId = `acl-${uniquePrefix()}`;
    const app = await runOneJob({ host: server.host, port: server.port, username: USER, password: PASSWORD, db: 20 }, nodeId);
    try {
      const clients = await moduleClients(observer, nodeId);
      expect(clients.map((c) => c.name.split(':').pop()).sort()).toEqual(['cmd', 'hb', 'queues', 'sub', 'workers']);
      for (const c of clients) expect({ name: c.name, user: c.user, db: c.db }).toEqual({ name: c.name, user: USER, db: '20' });
      await observer.select(20);
      expect(await observer.dbsize()).toBeGreaterThan(0);
      await observer.select(0);
      expect(await observer.dbsize()).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('a URL with the user in it works the same', async () => {
    const nodeId = `aclurl-${uniquePrefix()}`;
    const app = await runOneJob({ url: `redis://${USER}:${PASSWORD}@${server.host}:${server.port}/31` }, nodeId);
    try {
      for (const c of await moduleClients(observer, nodeId)) expect([c.user, c.db]).toEqual([USER, '31']);
    } finally {
      await app.close();
    }
  });

  it('a database the server does not have fails bootstrap naming redis.db (ioredis alone would go on in database 0)', async () => {
    const err = await Test.createTestingModule({
      imports: [AtomicQueuesModule.forRoot({ redis: { host: server.host, port: server.port, username: USER, password: PASSWORD, db: 32 } })],
    })
      .compile()
      .then((app) => app.init())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe('redis.db');
    expect((err as Error).message).toMatch(/redis\.db is not a database of the Redis server at 127\.0\.0\.1:\d+ .*DB index is out of range \(got 32\)/);
  });

  it('the same for a database given in the URL', async () => {
    const err = await Test.createTestingModule({
      imports: [AtomicQueuesModule.forRoot({ redis: { url: `redis://${USER}:${PASSWORD}@${server.host}:${server.port}/40` } })],
    })
      .compile()
      .then((app) => app.init())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe('redis.url (its /<db> part)');
    expect((err as Error).message).not.toContain(PASSWORD);
  });

  it.each([
    ['a wrong password', { username: USER, password: 'wrong' }],
    ['no user (the default user is disabled)', {}],
  ])('%s fails bootstrap at once, naming the credentials', async (_, credentials) => {
    const started = Date.now();
    const err = await Test.createTestingModule({
      imports: [AtomicQueuesModule.forRoot({ redis: { host: server.host, port: server.port, connectTimeoutMs: 10_000, ...credentials } })],
    })
      .compile()
      .then((app) => app.init())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConnectionError);
    expect((err as Error).message).toMatch(/the server refused the credentials \(check redis\.username and redis\.password/);
    expect((err as Error).message).not.toContain('wrong');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

/** Self-signed CA and server certificate from the `openssl` command, or why there is none. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } | string {
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=aq-test-ca');
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1');
    return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
  } catch (err) {
    return `openssl could not make a test certificate: ${(err as Error).message}`;
  }
}

describe('TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aq-tls-'));
  const certs = makeCertificates(dir);
  let server: RedisServerHandle | undefined;
  let tlsPort = 0;
  let startError: string | undefined;

  beforeAll(async () => {
    if (typeof certs === 'string') return;
    tlsPort = await getFreePort();
    // A redis-server built without TLS refuses --tls-port: the tests then skip saying so.
    // Plain TCP off (`--port 0`): a connection that did not use TLS cannot reach this server at all.
    server = await startRedisServer({
      args: ['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no'],
    }).catch((err: Error) => {
      startError = err.message;
      return undefined;
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every connection of the module speaks TLS with redis.tls (a TLS-only server, verified against its CA)', async (ctx) => {
    if (typeof certs === 'string') return ctx.skip(certs);
    if (!server) return ctx.skip(`this redis-server does not run TLS: ${startError ?? 'no --tls-port'}`);
    const tls: RedisOptions['tls'] = { ca: readFileSync(certs.ca), servername: 'localhost' };
    const nodeId = `tls-${uniquePrefix()}`;
    const app = await runOneJob({ host: '127.0.0.1', port: tlsPort, tls }, nodeId);
    const observer = new Redis({ host: '127.0.0.1', port: tlsPort, tls });
    try {
      const clients = await moduleClients(observer, nodeId);
      expect(clients.map((c) => c.name.split(':').pop()).sort()).toEqual(['cmd', 'hb', 'queues', 'sub', 'workers']);
    } finally {
      observer.disconnect();
      await app.close();
    }
  });

  it('without redis.tls the same server cannot be reached (bootstrap fails within connectTimeoutMs)', async (ctx) => {
    if (typeof certs === 'string' || !server) return ctx.skip('no TLS server (see above)');
    const err = await Test.createTestingModule({ imports: [AtomicQueuesModule.forRoot({ redis: { host: '127.0.0.1', port: tlsPort, connectTimeoutMs: 1500 } })] })
      .compile()
      .then((app) => app.init())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConnectionError);
  });

  it('a certificate not signed by the given CA is refused (TLS verification is on)', async (ctx) => {
    if (typeof certs === 'string' || !server) return ctx.skip('no TLS server (see above)');
    const err = await Test.createTestingModule({
      imports: [AtomicQueuesModule.forRoot({ redis: { host: '127.0.0.1', port: tlsPort, tls: { servername: 'localhost' }, connectTimeoutMs: 1500 } })],
    })
      .compile()
      .then((app) => app.init())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConnectionError);
    expect((err as Error).message).toMatch(/certificate/i);
  });
});
