import type { AtomicQueuesHealthService } from '../atomic-queues-health.service.js';
import type { AtomicQueuesHealthOptions, AtomicQueuesHealthReport } from '../health.types.js';

/**
 * What the indicator uses of terminus' `HealthIndicatorService` (written out here so that the package's types
 * never name @nestjs/terminus, an optional peer).
 */
export interface TerminusIndicatorService {
  check(key: string): { up(data?: Record<string, unknown>): unknown; down(data?: Record<string, unknown>): unknown };
}

/** A terminus indicator result: `{ [key]: { status, ...details } }` (terminus' HealthIndicatorResult). */
export type AtomicQueuesIndicatorResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/**
 * The @nestjs/terminus health indicator of the module, provided by `AtomicQueuesHealthModule.forRoot()`. Use it
 * in a terminus `HealthCheckService.check([...])` call:
 *
 * ```ts
 * @Get('live') @HealthCheck() live() { return this.health.check([() => this.queues.isAlive()]); }
 * @Get('ready') @HealthCheck() ready() { return this.health.check([() => this.queues.isReady()]); }
 * ```
 *
 * The result under `key` (default `atomic-queues`) is `up` or `down` with each check's outcome and figures
 * (see AtomicQueuesHealthService for what liveness and readiness check); a `down` one fails the probe (503).
 */
export class AtomicQueuesHealthIndicator {
  constructor(
    private readonly indicators: TerminusIndicatorService,
    private readonly health: AtomicQueuesHealthService,
    private readonly options: Required<AtomicQueuesHealthOptions>,
  ) {}

  /** Liveness: the dispatcher and cron loops run. */
  async isAlive(key = 'atomic-queues'): Promise<AtomicQueuesIndicatorResult> {
    return this.toResult(key, await this.health.liveness(this.options));
  }

  /** Readiness: not shutting down, Redis answers PING, heartbeats fresh, loops run. */
  async isReady(key = 'atomic-queues'): Promise<AtomicQueuesIndicatorResult> {
    return this.toResult(key, await this.health.readiness(this.options));
  }

  private toResult(key: string, report: AtomicQueuesHealthReport): AtomicQueuesIndicatorResult {
    const checks = Object.fromEntries(Object.entries(report.checks).map(([name, { healthy, ...rest }]) => [name, { status: healthy ? 'up' : 'down', ...rest }]));
    const session = this.indicators.check(key);
    return (report.healthy ? session.up({ checks }) : session.down({ checks })) as AtomicQueuesIndicatorResult;
  }
}
