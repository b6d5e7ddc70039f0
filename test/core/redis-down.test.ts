import type { LoggerService } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtomicQueuesConnectionError, AtomicQueuesModule, QueueManagerService, type AtomicQueuesConfig } from '../../src/index.js';
import { getFreePort, startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { uniquePrefix, waitFor } from './support.js';

/** Every line logged through Nest's Logger, with its level and context. */
class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; context?: string }> = [];
  private push(level: string, message: unknown, rest: unknown[]) {
    this.lines.push({ level, message: String(message), context: rest.at(-1) as string | undefined });
  }
  log = (m: unknown, ...r: unknown[]) => this.push('log', m, r);
  error = (m: unknown, ...r: unknown[]) => this.push('error', m, r);
  warn = (m: unknown, ...r: unknown[]) => this.push('warn', m, r);
  debug = (m: unknown, ...r: unknown[]) => this.push('debug', m, r);
  verbose = (m: unknown, ...r: unknown[]) => this.push('verbose', m, r);
  redis = () => this.lines.filter((l) => l.context === 'AtomicQueues:Redis').map((l) => `${l.level}: ${l.message}`);
}

const apps: TestingModule[] = [];
const servers: RedisServerHandle[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
});

async function compile(config: AtomicQueuesConfig, logger: LoggerService): Promise<TestingModule> {
  const app = await Test.createTestingModule({ imports: [AtomicQueuesModule.forRoot(config)] }).setLogger(logger).compile();
  apps.push(app);
  return app;
}

async function boot(config: AtomicQueuesConfig, logger: LoggerService): Promise<TestingModule> {
  const app = await compile(config, logger);
  await app.init();
  return app;
}

/** console.error / console.warn calls (ioredis "Unhandled error event", BullMQ's per-queue error prints). */
function consolePrints() {
  const error = vi.spyOn(console, 'error');
  const warn = vi.spyOn(console, 'warn');
  return () => [...error.mock.calls, ...warn.mock.calls].map((args) => args.map(String).join(' '));
}

describe('Redis unreachable', () => {
  it('bootstrap fails within redis.connectTimeoutMs with one error naming host:port and ECONNREFUSED', async () => {
    const port = await getFreePort(); // nothing listens there
    const logger = new CapturingLogger();
    const prints = consolePrints();
    const app = await compile({ redis: { host: '127.0.0.1', port, connectTimeoutMs: 1000 }, keyPrefix: uniquePrefix() }, logger);
    const started = Date.now();
    const err = await app.init().catch((e: unknown) => e); // bootstrap: onModuleInit of the module's connections
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(AtomicQueuesConnectionError);
    const error = err as AtomicQueuesConnectionError;
    expect(error.address).toBe(`127.0.0.1:${port}`);
    expect(error.message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${port}: not reachable within 1000 ms \\(redis\\.connectTimeoutMs\\): connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    // Nothing else: no per-retry lines, and the connections stopped retrying.
    await new Promise((r) => setTimeout(r, 500));
    expect(logger.redis()).toEqual([]);
    expect(prints()).toEqual([]);
  });

  it('an add while Redis is down fails with AtomicQueuesConnectionError within redis.commandTimeoutMs; one log line per state change', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const address = `127.0.0.1:${server.port}`;
    const logger = new CapturingLogger();
    const app = await boot({ redis: { url: server.url, connectTimeoutMs: 2000, commandTimeoutMs: 1000 }, keyPrefix: uniquePrefix() }, logger);
    const prints = consolePrints();
    const queues = app.get(QueueManagerService);
    await queues.addEntityJob('order', 'o1', 'before', {});
    expect(logger.redis()).toEqual([`log: connected to Redis at ${address}`]);

    await server.kill();
    // Added at once, before the client may have noticed: still bounded.
    let started = Date.now();
    const first = await queues.addEntityJob('order', 'o1', 'during-1', {}).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AtomicQueuesConnectionError);
    expect(Date.now() - started).toBeLessThan(1000 + 1500);

    await new Promise((r) => setTimeout(r, 1500)); // ioredis retries (and emits 'error') many times meanwhile
    started = Date.now();
    const second = await queues.addEntityJob('order', 'o2', 'during-2', {}).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(second).toBeInstanceOf(AtomicQueuesConnectionError);
    expect((second as Error).message).toMatch(
      new RegExp(`^Redis at ${address.replace(/\./g, '\\.')}: adding job 'during-2' to order-o2-queue failed: the connection stayed down for 1000 ms \\(redis\\.commandTimeoutMs\\); nothing was sent: connect ECONNREFUSED`),
    );
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(1000 + 1500);

    const lines = logger.redis();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^warn: connection to Redis at ${address.replace(/\./g, '\\.')} lost \\(`));
    expect(prints()).toEqual([]);

    await server.restart();
    await waitFor(() => logger.redis().length === 3, 10_000, 'the reconnected line');
    expect(logger.redis()[2]).toMatch(new RegExp(`^log: reconnected to Redis at ${address.replace(/\./g, '\\.')} after \\d+ ms$`));
    await queues.addEntityJob('order', 'o3', 'after', {});
    // The restarted server lost everything (no persistence): o1's setup ran again before its next job.
    await queues.addEntityJob('order', 'o1', 'after', {});
    expect(await queues.getOrCreateEntityQueue('order', 'o1').getGlobalConcurrency()).toBe(1);
    expect(logger.redis()).toHaveLength(3);
  });
});
