/**
 * Run profiles. `ci` keeps every scenario within ~30 s (short heartbeat TTL, small load); `full` is the default
 * of `npm run chaos`: longer fault windows and more load.
 */
export type ProfileName = 'ci' | 'full';
export const PROFILE_NAMES: readonly ProfileName[] = ['ci', 'full'];

export interface Profile {
  readonly name: ProfileName;
  /** Node processes (each with its own Toxiproxy link). */
  readonly nodes: number;
  readonly entities: number;
  /** Producer rate, jobs per second across all entities (interleaved). */
  readonly jobsPerSecond: number;
  /** Load before the fault is injected. */
  readonly warmupMs: number;
  /** Load after the heal. */
  readonly afterHealMs: number;
  /** Heartbeat TTL in ms (the module takes seconds); fault windows are derived from it. */
  readonly heartbeatTtlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly cronIntervalMs: number;
  readonly stalledIntervalMs: number;
  readonly lockDurationMs: number;
  /** Simulated work per job. */
  readonly jobMs: number;
  /** Upper bound for the drain after the producer stopped. */
  readonly drainTimeoutMs: number;
  /** Width of a timeline bucket in the report. */
  readonly bucketMs: number;
}

const CI: Profile = {
  name: 'ci',
  nodes: 3,
  entities: 24,
  jobsPerSecond: 60,
  warmupMs: 2500,
  afterHealMs: 2500,
  heartbeatTtlMs: 2000,
  heartbeatIntervalMs: 500,
  cronIntervalMs: 300,
  stalledIntervalMs: 1000,
  lockDurationMs: 4000,
  jobMs: 15,
  drainTimeoutMs: 12_000,
  bucketMs: 250,
};

const FULL: Profile = {
  ...CI,
  name: 'full',
  entities: 60,
  jobsPerSecond: 120,
  warmupMs: 5000,
  afterHealMs: 5000,
  heartbeatTtlMs: 3000,
  heartbeatIntervalMs: 1000,
  cronIntervalMs: 500,
  lockDurationMs: 6000,
  drainTimeoutMs: 30_000,
  bucketMs: 500,
};

export function getProfile(name: string): Profile {
  if (name === 'ci') return CI;
  if (name === 'full') return FULL;
  throw new Error(`--profile "${name}" is unknown; accepted values: ${PROFILE_NAMES.join(', ')}`);
}
