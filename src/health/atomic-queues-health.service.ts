import { Inject, Injectable } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { CronManagerService } from '../cron/cron-manager.service.js';
import { EntityDispatcher } from '../engine/entity-dispatcher.service.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { AtomicQueuesLifecycle } from '../shutdown/atomic-queues-lifecycle.service.js';
import { WorkerManagerService } from '../workers/worker-manager.service.js';
import { resolveHealthOptions, type AtomicQueuesHealthOptions, type AtomicQueuesHealthReport, type HealthCheckName, type HealthCheckResult } from './health.types.js';

/** Stale heartbeats named in a message (the count is always given). */
const NAMED_STALE = 5;

/**
 * The node's health, for liveness and readiness probes (the terminus indicator reports it; an app without
 * terminus can serve it itself). Every time is read from the module's Clock.
 *
 * - **Liveness** (restart the process if it fails): the engine's loops still run: the dispatcher polled and the
 *   cron (when running) ticked within `stalledAfterIntervals` of their periods. A cron tick waiting on Redis
 *   counts as alive (a restart would not bring Redis back). During the graceful shutdown the loops are stopped
 *   on purpose and liveness stays healthy.
 * - **Readiness** (send no work while it fails): not shutting down; Redis answers PING within `pingTimeoutMs`;
 *   every heartbeat this node keeps was refreshed within its TTL; the loops run and no cron tick has been
 *   running for `stalledAfterIntervals` periods.
 */
@Injectable()
export class AtomicQueuesHealthService {
  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
    private readonly workers: WorkerManagerService,
    private readonly cron: CronManagerService,
    private readonly dispatcher: EntityDispatcher,
    private readonly lifecycle: AtomicQueuesLifecycle,
  ) {}

  /** The liveness checks: `dispatcher` and `cron`. Options are validated (AtomicQueuesConfigError). */
  async liveness(options?: AtomicQueuesHealthOptions): Promise<AtomicQueuesHealthReport> {
    const { stalledAfterIntervals } = resolveHealthOptions(options);
    return report({ dispatcher: this.checkDispatcher(stalledAfterIntervals), cron: this.checkCron(stalledAfterIntervals, false) });
  }

  /** The readiness checks: `shutdown`, `redis`, `heartbeats`, `dispatcher`, `cron`. */
  async readiness(options?: AtomicQueuesHealthOptions): Promise<AtomicQueuesHealthReport> {
    const { pingTimeoutMs, stalledAfterIntervals } = resolveHealthOptions(options);
    return report({
      shutdown: this.checkShutdown(),
      redis: await this.checkRedis(pingTimeoutMs),
      heartbeats: this.checkHeartbeats(),
      dispatcher: this.checkDispatcher(stalledAfterIntervals),
      cron: this.checkCron(stalledAfterIntervals, true),
    });
  }

  private checkShutdown(): HealthCheckResult {
    return this.lifecycle.isShuttingDown ? { healthy: false, message: 'the node is shutting down (draining its workers)' } : { healthy: true };
  }

  /** PING on the module's command connection, bounded by `timeoutMs` (a lost connection queues it: no reply). */
  private async checkRedis(timeoutMs: number): Promise<HealthCheckResult> {
    const started = this.clock.now();
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), timeoutMs, { unref: true, label: 'atomic-queues health PING timeout' });
    });
    const ping = this.redis.ping().then(
      () => 'pong' as const,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    try {
      const outcome = await Promise.race([ping, timeout]);
      if (outcome === 'pong') return { healthy: true, latencyMs: this.clock.now() - started };
      if (outcome === 'timeout') return { healthy: false, message: `no reply to PING within ${timeoutMs} ms` };
      return { healthy: false, message: `PING failed: ${outcome.message}` };
    } finally {
      this.clock.clear(timer);
    }
  }

  private checkHeartbeats(): HealthCheckResult {
    const now = this.clock.now();
    const heartbeats = this.workers.getLocalHeartbeats();
    const stale = heartbeats.filter((h) => now - h.lastRefreshAt >= h.ttlMs).sort((a, b) => a.lastRefreshAt - b.lastRefreshAt);
    const details = { workers: heartbeats.length, stale: stale.length };
    if (stale.length === 0) return { healthy: true, ...details };
    const named = stale.slice(0, NAMED_STALE).map((h) => `${h.workerName} (${now - h.lastRefreshAt} ms ago, TTL ${h.ttlMs} ms)`);
    const more = stale.length > NAMED_STALE ? `, and ${stale.length - NAMED_STALE} more` : '';
    return { healthy: false, message: `${stale.length} of ${heartbeats.length} heartbeats not refreshed within their TTL: ${named.join(', ')}${more}`, ...details };
  }

  private checkDispatcher(stalledAfterIntervals: number): HealthCheckResult {
    const a = this.dispatcher.activity;
    if (!a.running) return this.stopped('dispatcher', this.config.engine.dispatch, 'engine.dispatch: false');
    const limit = Math.round(stalledAfterIntervals * a.pollIntervalMs);
    const ago = this.clock.now() - (a.lastPollAt ?? a.startedAt ?? this.clock.now());
    const details = { lastPollAgoMs: ago, pollIntervalMs: a.pollIntervalMs };
    if (ago <= limit) return { healthy: true, ...details };
    return { healthy: false, message: `no poll for ${ago} ms (limit ${limit} ms: ${stalledAfterIntervals} × engine.pollInterval)`, ...details };
  }

  /** `ready`: a tick running for the limit fails too (liveness lets a tick wait on Redis). */
  private checkCron(stalledAfterIntervals: number, ready: boolean): HealthCheckResult {
    const a = this.cron.activity;
    if (!a.running || a.intervalMs === undefined) return this.stopped('cron', this.config.enableCronManager, 'enableCronManager: false');
    const now = this.clock.now();
    const limit = Math.round(stalledAfterIntervals * a.intervalMs);
    if (a.runningSince !== undefined) {
      const runningForMs = now - a.runningSince;
      const details = { tickRunningForMs: runningForMs, intervalMs: a.intervalMs };
      if (!ready || runningForMs <= limit) return { healthy: true, ...details };
      return { healthy: false, message: `one tick has been running for ${runningForMs} ms (limit ${limit} ms: ${stalledAfterIntervals} × its interval)`, ...details };
    }
    const ago = now - Math.max(a.lastRunEndedAt ?? -Infinity, a.startedAt ?? now);
    const details = { lastTickAgoMs: ago, intervalMs: a.intervalMs };
    if (ago <= limit) return { healthy: true, ...details };
    return { healthy: false, message: `no tick for ${ago} ms (limit ${limit} ms: ${stalledAfterIntervals} × its interval)`, ...details };
  }

  /** A loop that is not running: fine when turned off or stopped for the shutdown, a failure otherwise. */
  private stopped(loop: 'dispatcher' | 'cron', enabled: boolean, off: string): HealthCheckResult {
    if (!enabled) return { healthy: true, message: `turned off (${off})` };
    if (this.lifecycle.isShuttingDown) return { healthy: true, message: 'stopped for the shutdown' };
    return { healthy: false, message: `the ${loop} is not running (before bootstrap, or stopped)` };
  }
}

function report(checks: Partial<Record<HealthCheckName, HealthCheckResult>>): AtomicQueuesHealthReport {
  return { healthy: Object.values(checks).every((c) => c.healthy), checks };
}
