/**
 * Load profiles, k6 scenario/threshold definitions and the same thresholds evaluated in Node (driver).
 * Leaf module (no imports): k6 loads it as-is; types are structural so they fit `k6/options`.
 */

export interface LoadProfile {
  /** Entities of the many-entities scenario. */
  entities: number;
  /** Enqueue requests per second (constant arrival rate). */
  rate: number;
  durationS: number;
  /** Nodes of the cluster the Node driver starts (k6 targets one or more URLs given by the user). */
  nodes: number;
  /** Hot-entity scenario: each VU / connection hammers its own entity with `hotIterations` jobs. */
  hotVus: number;
  hotIterations: number;
  padBytes: number;
}

export const PROFILES = {
  smoke: { entities: 40, rate: 80, durationS: 15, nodes: 2, hotVus: 2, hotIterations: 150, padBytes: 64 },
  standard: { entities: 500, rate: 300, durationS: 60, nodes: 3, hotVus: 4, hotIterations: 1000, padBytes: 256 },
  stress: { entities: 2000, rate: 1000, durationS: 120, nodes: 4, hotVus: 8, hotIterations: 2000, padBytes: 256 },
} as const satisfies Record<string, LoadProfile>;

export function resolveProfile(name: string): LoadProfile {
  const profile = (PROFILES as Record<string, LoadProfile>)[name];
  if (!profile) throw new Error(`unknown profile "${name}"; accepted: ${Object.keys(PROFILES).join(', ')}`);
  return { ...profile };
}

/** Pre-allocated VUs for a constant arrival rate: enough for `rate` requests of ~`expectedLatencyMs` each. */
export function vusForRate(rate: number, expectedLatencyMs = 50): { preAllocatedVUs: number; maxVUs: number } {
  const preAllocatedVUs = Math.max(2, Math.ceil((rate * expectedLatencyMs) / 1000));
  return { preAllocatedVUs, maxVUs: preAllocatedVUs * 4 };
}

export type K6ScenarioSet = {
  many_entities: {
    executor: 'constant-arrival-rate';
    exec: string;
    rate: number;
    timeUnit: string;
    duration: string;
    preAllocatedVUs: number;
    maxVUs: number;
  };
  hot_entity: {
    executor: 'per-vu-iterations';
    exec: string;
    vus: number;
    iterations: number;
    startTime: string;
    maxDuration: string;
  };
};

/** The two scenarios, run one after the other so VU ids (entity owners) never overlap. */
export function k6Scenarios(profile: LoadProfile): K6ScenarioSet {
  const vus = vusForRate(profile.rate);
  return {
    many_entities: {
      executor: 'constant-arrival-rate',
      exec: 'manyEntities',
      rate: profile.rate,
      timeUnit: '1s',
      duration: `${profile.durationS}s`,
      ...vus,
    },
    hot_entity: {
      executor: 'per-vu-iterations',
      exec: 'hotEntity',
      vus: profile.hotVus,
      iterations: profile.hotIterations,
      startTime: `${profile.durationS + 5}s`,
      maxDuration: '5m',
    },
  };
}

export interface ThresholdLimits {
  enqueueP95Ms: number;
  enqueueP99Ms: number;
  /** Enqueue requests answered with a non-2xx status. */
  maxRejected: number;
  /** Fraction of failed HTTP requests (k6 `http_req_failed`). */
  maxFailedRate: number;
}

export const DEFAULT_LIMITS: ThresholdLimits = { enqueueP95Ms: 250, enqueueP99Ms: 1000, maxRejected: 0, maxFailedRate: 0.01 };

/**
 * Limits per profile. Smoke checks correctness on small (often shared, 2-core) machines, so its latency limits
 * only catch pathological stalls; the larger profiles hold the real latency targets.
 */
export function limitsFor(profile: string): ThresholdLimits {
  resolveProfile(profile);
  return profile === 'smoke' ? { ...DEFAULT_LIMITS, enqueueP95Ms: 1500, enqueueP99Ms: 5000 } : { ...DEFAULT_LIMITS };
}

/** Custom metric names shared by the k6 scripts and the driver report. */
export const METRICS = { enqueueLatency: 'enqueue_latency', rejected: 'enqueue_rejected' } as const;

export function k6Thresholds(limits: ThresholdLimits = DEFAULT_LIMITS): Record<string, string[]> {
  return {
    [METRICS.enqueueLatency]: [`p(95)<${limits.enqueueP95Ms}`, `p(99)<${limits.enqueueP99Ms}`],
    [METRICS.rejected]: [`count<=${limits.maxRejected}`],
    http_req_failed: [`rate<${limits.maxFailedRate}`],
  };
}

export interface ObservedEnqueue {
  p95Ms: number;
  p99Ms: number;
  rejected: number;
  requests: number;
  /** Requests that got no HTTP reply at all (connection errors, timeouts). */
  errors: number;
}

export interface ThresholdResult {
  name: string;
  limit: string;
  value: number;
  ok: boolean;
}

/** The k6 thresholds evaluated on the Node driver's own measurements. */
export function evaluateThresholds(observed: ObservedEnqueue, limits: ThresholdLimits = DEFAULT_LIMITS): ThresholdResult[] {
  const failedRate = observed.requests === 0 ? 0 : (observed.rejected + observed.errors) / observed.requests;
  return [
    { name: `${METRICS.enqueueLatency} p(95)`, limit: `< ${limits.enqueueP95Ms}`, value: observed.p95Ms, ok: observed.p95Ms < limits.enqueueP95Ms },
    { name: `${METRICS.enqueueLatency} p(99)`, limit: `< ${limits.enqueueP99Ms}`, value: observed.p99Ms, ok: observed.p99Ms < limits.enqueueP99Ms },
    { name: METRICS.rejected, limit: `<= ${limits.maxRejected}`, value: observed.rejected, ok: observed.rejected <= limits.maxRejected },
    { name: 'http_req_failed', limit: `< ${limits.maxFailedRate}`, value: failedRate, ok: failedRate < limits.maxFailedRate },
  ];
}
