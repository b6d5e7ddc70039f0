import { configRules } from '../validation.js';

/** Thresholds of the health checks. */
export interface AtomicQueuesHealthOptions {
  /** Redis must answer PING within this many ms for readiness. Default 1000. */
  pingTimeoutMs?: number;
  /**
   * A loop (the dispatcher's poll, the cron's tick) counts as stopped when it has not run for this many of its
   * periods; readiness also fails while one cron tick has been running that long. Default 3.
   */
  stalledAfterIntervals?: number;
}

export const HEALTH_DEFAULTS: Readonly<Required<AtomicQueuesHealthOptions>> = Object.freeze({ pingTimeoutMs: 1000, stalledAfterIntervals: 3 });

/** Validates health options (AtomicQueuesConfigError naming the field, under `path`). */
export function resolveHealthOptions(value: unknown, path = 'health'): Required<AtomicQueuesHealthOptions> {
  const obj = configRules.object(path, value) ?? {};
  configRules.knownKeys(path, obj, Object.keys(HEALTH_DEFAULTS));
  return {
    pingTimeoutMs: configRules.integer(`${path}.pingTimeoutMs`, obj.pingTimeoutMs ?? HEALTH_DEFAULTS.pingTimeoutMs, 1),
    stalledAfterIntervals: configRules.positiveNumber(`${path}.stalledAfterIntervals`, obj.stalledAfterIntervals ?? HEALTH_DEFAULTS.stalledAfterIntervals),
  };
}

/** One check: healthy or not, a message when not, and what it measured. */
export interface HealthCheckResult {
  healthy: boolean;
  /** Why it is unhealthy (or what it skipped, e.g. a loop that is turned off). */
  message?: string;
  [detail: string]: unknown;
}

/** The checks of liveness (`dispatcher`, `cron`) or readiness (all five). */
export type HealthCheckName = 'shutdown' | 'redis' | 'heartbeats' | 'dispatcher' | 'cron';

export interface AtomicQueuesHealthReport {
  /** Every check healthy. */
  healthy: boolean;
  checks: Partial<Record<HealthCheckName, HealthCheckResult>>;
}
