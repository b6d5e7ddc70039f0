import { describe, expect, it } from 'vitest';
import { AtomicQueuesConfigError, AtomicQueuesHealthService, type ResolvedAtomicQueuesConfig } from '../../src/index.js';
import { resolveConfig } from '../../src/config/atomic-queues-config.js';
import { TestClock } from '../../testing/index.js';

/**
 * Each health check on its own: the service over fakes of what it reads (the Redis PING, the worker service's
 * heartbeats, the dispatcher's and cron's activity, the lifecycle), on a TestClock. One healthy case and each way
 * to fail.
 */
type Activity = { running: boolean; intervalMs?: number; startedAt?: number; lastRunStartedAt?: number; lastRunEndedAt?: number; runningSince?: number };

function setup(overrides: Partial<Parameters<typeof resolveConfig>[0]> = {}) {
  const clock = new TestClock({ start: 0 });
  const config: ResolvedAtomicQueuesConfig = resolveConfig({ redis: { port: 6379 }, enableCronManager: true, cronInterval: 1000, engine: { pollInterval: 500 }, ...overrides });
  const state = {
    ping: (): Promise<unknown> => Promise.resolve('PONG'),
    heartbeats: [] as Array<{ workerName: string; lastRefreshAt: number; ttlMs: number }>,
    dispatcher: { running: true, pollIntervalMs: config.engine.pollInterval, startedAt: 0, lastPollAt: undefined as number | undefined },
    cron: { running: true, intervalMs: 1000, startedAt: 0 } as Activity,
    shuttingDown: false,
  };
  const service = new AtomicQueuesHealthService(
    { ping: () => state.ping() } as never,
    config,
    clock,
    { getLocalHeartbeats: () => state.heartbeats } as never,
    { get activity() { return state.cron; } } as never,
    { get activity() { return state.dispatcher; } } as never,
    { get isShuttingDown() { return state.shuttingDown; } } as never,
  );
  return { clock, state, service };
}

describe('readiness', () => {
  it('healthy: not shutting down, PING answered, heartbeats fresh, loops on time', async () => {
    const { clock, state, service } = setup();
    await clock.advance(900);
    state.heartbeats = [{ workerName: 'order-o1-worker', lastRefreshAt: 400, ttlMs: 3000 }];
    state.dispatcher.lastPollAt = 500;
    state.cron = { running: true, intervalMs: 1000, startedAt: 0, lastRunStartedAt: 0, lastRunEndedAt: 10 };
    const report = await service.readiness();
    expect(report).toEqual({
      healthy: true,
      checks: {
        shutdown: { healthy: true },
        redis: { healthy: true, latencyMs: 0 },
        heartbeats: { healthy: true, workers: 1, stale: 0 },
        dispatcher: { healthy: true, lastPollAgoMs: 400, pollIntervalMs: 500 },
        cron: { healthy: true, lastTickAgoMs: 890, intervalMs: 1000 },
      },
    });
  });

  it('shutting down: not ready (the loops stopped for it are not a failure)', async () => {
    const { state, service } = setup();
    state.shuttingDown = true;
    state.dispatcher.running = false;
    state.cron = { running: false };
    const report = await service.readiness();
    expect(report.healthy).toBe(false);
    expect(report.checks.shutdown).toEqual({ healthy: false, message: 'the node is shutting down (draining its workers)' });
    expect(report.checks.dispatcher).toEqual({ healthy: true, message: 'stopped for the shutdown' });
    expect(report.checks.cron).toEqual({ healthy: true, message: 'stopped for the shutdown' });
    const live = await service.liveness();
    expect(live.healthy).toBe(true);
  });

  it('Redis: an error reply, and no reply within pingTimeoutMs', async () => {
    const { clock, state, service } = setup();
    state.ping = () => Promise.reject(new Error('NOPERM this user has no permissions to run the ping command'));
    expect((await service.readiness()).checks.redis).toEqual({ healthy: false, message: 'PING failed: NOPERM this user has no permissions to run the ping command' });

    state.ping = () => new Promise(() => undefined); // a lost connection: ioredis queues the command
    const pending = service.readiness({ pingTimeoutMs: 250 });
    await clock.advance(249);
    let settled = false;
    void pending.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await clock.advance(1);
    const report = await pending;
    expect(report.healthy).toBe(false);
    expect(report.checks.redis).toEqual({ healthy: false, message: 'no reply to PING within 250 ms' });
    expect(clock.pending()).toEqual([]); // the timeout timer is not left behind
  });

  it('heartbeats: any not refreshed within its TTL fails, naming the oldest first (at most 5)', async () => {
    const { clock, state, service } = setup();
    await clock.advance(10_000);
    state.dispatcher.lastPollAt = state.cron.startedAt = 10_000;
    state.heartbeats = [
      { workerName: 'fresh', lastRefreshAt: 9_500, ttlMs: 3000 },
      ...Array.from({ length: 6 }, (_, i) => ({ workerName: `stale-${i}`, lastRefreshAt: 6_000 + i * 100, ttlMs: 3000 })),
    ];
    const { checks, healthy } = await service.readiness();
    expect(healthy).toBe(false);
    expect(checks.heartbeats).toEqual({
      healthy: false,
      workers: 7,
      stale: 6,
      message:
        '6 of 7 heartbeats not refreshed within their TTL: stale-0 (4000 ms ago, TTL 3000 ms), stale-1 (3900 ms ago, TTL 3000 ms), ' +
        'stale-2 (3800 ms ago, TTL 3000 ms), stale-3 (3700 ms ago, TTL 3000 ms), stale-4 (3600 ms ago, TTL 3000 ms), and 1 more',
    });
    // Exactly one TTL old counts as expired (the key is gone at that instant).
    state.heartbeats = [{ workerName: 'edge', lastRefreshAt: 7_000, ttlMs: 3000 }];
    expect((await service.readiness()).checks.heartbeats).toMatchObject({ healthy: false, stale: 1 });
    state.heartbeats = [{ workerName: 'edge', lastRefreshAt: 7_001, ttlMs: 3000 }];
    expect((await service.readiness()).checks.heartbeats).toEqual({ healthy: true, workers: 1, stale: 0 });
  });

  it('cron: a tick running longer than stalledAfterIntervals periods makes the node not ready (but alive)', async () => {
    const { clock, state, service } = setup();
    await clock.advance(5000);
    state.dispatcher.lastPollAt = 5000;
    state.cron = { running: true, intervalMs: 1000, startedAt: 0, lastRunStartedAt: 1500, runningSince: 1500 };
    const ready = await service.readiness();
    expect(ready.checks.cron).toEqual({ healthy: false, message: 'one tick has been running for 3500 ms (limit 3000 ms: 3 × its interval)', tickRunningForMs: 3500, intervalMs: 1000 });
    expect((await service.liveness()).checks.cron).toEqual({ healthy: true, tickRunningForMs: 3500, intervalMs: 1000 });
    expect((await service.readiness({ stalledAfterIntervals: 4 })).checks.cron?.healthy).toBe(true);
  });
});

describe('liveness', () => {
  it('healthy while the loops run on time; Redis and heartbeats are not part of it', async () => {
    const { clock, state, service } = setup();
    state.ping = () => Promise.reject(new Error('down'));
    state.heartbeats = [{ workerName: 'w', lastRefreshAt: -10_000, ttlMs: 1000 }];
    await clock.advance(1500);
    state.dispatcher.lastPollAt = 1000;
    state.cron = { running: true, intervalMs: 1000, startedAt: 0, lastRunEndedAt: 1000 };
    expect(await service.liveness()).toEqual({
      healthy: true,
      checks: { dispatcher: { healthy: true, lastPollAgoMs: 500, pollIntervalMs: 500 }, cron: { healthy: true, lastTickAgoMs: 500, intervalMs: 1000 } },
    });
  });

  it('the dispatcher: no poll for stalledAfterIntervals periods, or not running though enabled', async () => {
    const { clock, state, service } = setup();
    await clock.advance(1501);
    state.cron.startedAt = 1501;
    const late = await service.liveness();
    expect(late.healthy).toBe(false);
    expect(late.checks.dispatcher).toEqual({ healthy: false, message: 'no poll for 1501 ms (limit 1500 ms: 3 × engine.pollInterval)', lastPollAgoMs: 1501, pollIntervalMs: 500 });
    state.dispatcher.lastPollAt = 1400;
    expect((await service.liveness()).healthy).toBe(true);
    state.dispatcher.running = false;
    expect((await service.liveness()).checks.dispatcher).toEqual({ healthy: false, message: 'the dispatcher is not running (before bootstrap, or stopped)' });
  });

  it('the cron: no tick for stalledAfterIntervals periods, or not running though enableCronManager is set', async () => {
    const { clock, state, service } = setup();
    await clock.advance(10_000);
    state.dispatcher.lastPollAt = 10_000;
    state.cron = { running: true, intervalMs: 1000, startedAt: 0, lastRunStartedAt: 6000, lastRunEndedAt: 6500 };
    expect((await service.liveness()).checks.cron).toEqual({ healthy: false, message: 'no tick for 3500 ms (limit 3000 ms: 3 × its interval)', lastTickAgoMs: 3500, intervalMs: 1000 });
    // A loop restarted after its last tick counts from its start.
    state.cron = { running: true, intervalMs: 1000, startedAt: 9000, lastRunEndedAt: 6500 };
    expect((await service.liveness()).checks.cron?.healthy).toBe(true);
    state.cron = { running: false };
    expect((await service.liveness()).checks.cron).toEqual({ healthy: false, message: 'the cron is not running (before bootstrap, or stopped)' });
  });

  it('loops turned off by the config are healthy, saying so', async () => {
    const { state, service } = setup({ enableCronManager: false, engine: { dispatch: false } });
    state.dispatcher.running = false;
    state.cron = { running: false };
    expect(await service.liveness()).toEqual({
      healthy: true,
      checks: {
        dispatcher: { healthy: true, message: 'turned off (engine.dispatch: false)' },
        cron: { healthy: true, message: 'turned off (enableCronManager: false)' },
      },
    });
  });

  it('bad options are refused naming the field', async () => {
    const { service } = setup();
    const err = await service.readiness({ pingTimeoutMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe('health.pingTimeoutMs');
    await expect(service.liveness({ stalledAfterIntervals: -1 })).rejects.toThrow(/health\.stalledAfterIntervals must be a finite number > 0/);
    await expect(service.liveness({ pingTimeout: 5 } as never)).rejects.toThrow(/health\.pingTimeout is not a known option; accepted: pingTimeoutMs, stalledAfterIntervals/);
  });
});
