import { envBool, envInt, envJson, envString, type Env } from './env.js';
import type { EnvValues } from './launcher.js';

/**
 * Settings of the cluster node app and producer, read from the environment. Tests and chaos suites build the
 * environment with `nodeAppEnv` / `producerEnv` (typed), the child processes parse it with `readNodeAppSettings`
 * / `readProducerSettings` (validated).
 */

/** Changes how matching jobs run: fail the first `failTimes` attempts, or take `delayMs` instead of the default. */
export interface JobRule {
  /** Entity id the rule applies to; every entity when absent. */
  entityId?: string;
  /** Producer seq the rule applies to; every seq when absent. */
  seq?: number;
  failTimes?: number;
  delayMs?: number;
}

export interface CommonSettings {
  redisUrl: string;
  /** Module keyPrefix (also the BullMQ prefix); one per run isolates runs on a shared Redis. */
  keyPrefix: string;
  /** Default 'order'. */
  entityType: string;
}

export interface NodeAppSettings extends CommonSettings {
  nodeId: string;
  /** Worker heartbeat TTL; default 2000 (whole milliseconds). */
  heartbeatTtlMs: number;
  /** Default 500; must be < heartbeatTtlMs. */
  heartbeatIntervalMs: number;
  /** Cron tick; default 300. 0 disables the cron (workers only from raceEntities). */
  cronIntervalMs: number;
  /** BullMQ stalled check; default 500. */
  stalledIntervalMs: number;
  /** BullMQ job lock; default 2000 (a SIGKILLed node's job returns to its queue after this + stalledInterval). */
  lockDurationMs: number;
  /** Graceful shutdown bound; default 10000. */
  shutdownTimeoutMs: number;
  /** JSONL history file of this node; none when absent. */
  historyFile?: string;
  /** Processing time of a job, ms; default 10. */
  jobMs: number;
  jobRules: JobRule[];
  /** Jobs per entity at once; default 1. Above 1 is the deliberately unsafe mode the checkers must catch. */
  workerConcurrency: number;
  /**
   * Each worker instance holds a fencing lease (ResourceLockService lock on its entity, TTL = heartbeat TTL rounded
   * up to seconds), taken before the worker is created, and applies every job's effect through that token.
   */
  fencing: boolean;
  /**
   * Entity ids this node calls createWorker for, without the cron, when it reads `race <epochMs>` on stdin
   * (NodeHandle.send): every node sleeps until that instant, so their calls race within a millisecond.
   */
  raceEntities: string[];
  /** Print `AQ_JOB <phase> <entityId> <seq> <attempt> <outcome>` lines on stdout. */
  logJobs: boolean;
}

export interface ProducerSettings extends CommonSettings {
  producerId: string;
  /** EnqueueLog JSONL file (required). */
  enqueueFile: string;
  /** Entities `${entityIdPrefix}-${entityOffset}` … `${entityIdPrefix}-${entityOffset + entityCount - 1}`. */
  entityOffset: number;
  entityCount: number;
  entityIdPrefix: string;
  jobsPerEntity: number;
  /** Adds per second over all entities; 0 = as fast as acknowledged (default). */
  ratePerSecond: number;
  /** Job attempts (in-place retries); default 1. */
  attempts: number;
  /** Fixed backoff between attempts, ms; default 0. */
  backoffMs: number;
  /** Default 'work'. */
  jobName: string;
  /** Log a failed add with status 'unknown' and go on (chaos runs) instead of exiting 1 (default false). */
  recordFailedAdds: boolean;
  /** Stop adding once this long has passed since the first add, ms (sustained-load runs); 0 = no limit (default). */
  durationMs: number;
  /** BullMQ `removeOnComplete` for every add: completed jobs leave Redis (long runs); default false (kept). */
  removeOnComplete: boolean;
}

export const DEFAULT_ENTITY_TYPE = 'order';

/** The id of the entity with this index, as producers and tests name it. */
export const entityIdOf = (index: number, prefix = 'e'): string => `${prefix}-${index}`;

function validateRules(value: unknown): JobRule[] {
  const where = 'AQ_JOB_RULES';
  if (!Array.isArray(value)) throw new Error(`${where} must be a JSON array of { entityId?, seq?, failTimes?, delayMs? }, got ${JSON.stringify(value)}`);
  return value.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) throw new Error(`${where}[${i}] must be an object, got ${JSON.stringify(raw)}`);
    const rule = raw as Record<string, unknown>;
    for (const key of Object.keys(rule)) {
      if (!['entityId', 'seq', 'failTimes', 'delayMs'].includes(key)) {
        throw new Error(`${where}[${i}].${key} is not a known field; accepted: entityId, seq, failTimes, delayMs`);
      }
    }
    if (rule.entityId !== undefined && typeof rule.entityId !== 'string') throw new Error(`${where}[${i}].entityId must be a string, got ${JSON.stringify(rule.entityId)}`);
    for (const key of ['seq', 'failTimes', 'delayMs'] as const) {
      const v = rule[key];
      if (v !== undefined && (!Number.isInteger(v) || (v as number) < 0)) throw new Error(`${where}[${i}].${key} must be an integer >= 0, got ${JSON.stringify(v)}`);
    }
    return rule as JobRule;
  });
}

function common(env: Env): CommonSettings {
  return {
    redisUrl: envString(env, 'REDIS_URL'),
    keyPrefix: envString(env, 'AQ_KEY_PREFIX', 'aq'),
    entityType: envString(env, 'AQ_ENTITY_TYPE', DEFAULT_ENTITY_TYPE),
  };
}

const list = (raw: string | undefined): string[] => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function readNodeAppSettings(env: Env = process.env): NodeAppSettings {
  const settings: NodeAppSettings = {
    ...common(env),
    nodeId: envString(env, 'NODE_ID'),
    heartbeatTtlMs: envInt(env, 'AQ_HEARTBEAT_TTL_MS', 2000, 1),
    heartbeatIntervalMs: envInt(env, 'AQ_HEARTBEAT_INTERVAL_MS', 500, 1),
    cronIntervalMs: envInt(env, 'AQ_CRON_INTERVAL_MS', 300, 0),
    stalledIntervalMs: envInt(env, 'AQ_STALLED_INTERVAL_MS', 500, 1),
    lockDurationMs: envInt(env, 'AQ_LOCK_DURATION_MS', 2000, 1),
    shutdownTimeoutMs: envInt(env, 'AQ_SHUTDOWN_TIMEOUT_MS', 10_000, 0),
    jobMs: envInt(env, 'AQ_JOB_MS', 10, 0),
    jobRules: envJson(env, 'AQ_JOB_RULES', [], validateRules),
    workerConcurrency: envInt(env, 'AQ_WORKER_CONCURRENCY', 1, 1),
    fencing: envBool(env, 'AQ_FENCING', false),
    raceEntities: list(env.AQ_RACE_ENTITIES),
    logJobs: envBool(env, 'AQ_LOG_JOBS', false),
  };
  if (env.AQ_HISTORY_FILE) settings.historyFile = env.AQ_HISTORY_FILE;
  return settings;
}

export function readProducerSettings(env: Env = process.env): ProducerSettings {
  return {
    ...common(env),
    producerId: envString(env, 'NODE_ID', 'producer'),
    enqueueFile: envString(env, 'AQ_ENQUEUE_FILE'),
    entityOffset: envInt(env, 'AQ_ENTITY_OFFSET', 0, 0),
    entityCount: envInt(env, 'AQ_ENTITY_COUNT', 10, 1),
    entityIdPrefix: envString(env, 'AQ_ENTITY_ID_PREFIX', 'e'),
    jobsPerEntity: envInt(env, 'AQ_JOBS_PER_ENTITY', 10, 1),
    ratePerSecond: envInt(env, 'AQ_RATE', 0, 0),
    attempts: envInt(env, 'AQ_ATTEMPTS', 1, 1),
    backoffMs: envInt(env, 'AQ_BACKOFF_MS', 0, 0),
    jobName: envString(env, 'AQ_JOB_NAME', 'work'),
    recordFailedAdds: envBool(env, 'AQ_RECORD_FAILED_ADDS', false),
    durationMs: envInt(env, 'AQ_DURATION_MS', 0, 0),
    removeOnComplete: envBool(env, 'AQ_REMOVE_ON_COMPLETE', false),
  };
}

export type NodeAppEnvInput = Partial<Omit<NodeAppSettings, 'nodeId' | 'redisUrl'>>;
export type ProducerEnvInput = Partial<Omit<ProducerSettings, 'producerId' | 'redisUrl'>>;

/** Environment for node-app processes (NODE_ID and REDIS_URL come from the launcher's per-node config). */
export function nodeAppEnv(s: NodeAppEnvInput): EnvValues {
  return {
    AQ_KEY_PREFIX: s.keyPrefix,
    AQ_ENTITY_TYPE: s.entityType,
    AQ_HEARTBEAT_TTL_MS: s.heartbeatTtlMs,
    AQ_HEARTBEAT_INTERVAL_MS: s.heartbeatIntervalMs,
    AQ_CRON_INTERVAL_MS: s.cronIntervalMs,
    AQ_STALLED_INTERVAL_MS: s.stalledIntervalMs,
    AQ_LOCK_DURATION_MS: s.lockDurationMs,
    AQ_SHUTDOWN_TIMEOUT_MS: s.shutdownTimeoutMs,
    AQ_HISTORY_FILE: s.historyFile,
    AQ_JOB_MS: s.jobMs,
    AQ_JOB_RULES: s.jobRules === undefined ? undefined : JSON.stringify(s.jobRules),
    AQ_WORKER_CONCURRENCY: s.workerConcurrency,
    AQ_FENCING: s.fencing === undefined ? undefined : s.fencing ? 1 : 0,
    AQ_RACE_ENTITIES: s.raceEntities?.join(','),
    AQ_LOG_JOBS: s.logJobs === undefined ? undefined : s.logJobs ? 1 : 0,
  };
}

/** Environment for producer processes (REDIS_URL and NODE_ID = producer id come from the launcher). */
export function producerEnv(s: ProducerEnvInput): EnvValues {
  return {
    AQ_KEY_PREFIX: s.keyPrefix,
    AQ_ENTITY_TYPE: s.entityType,
    AQ_ENQUEUE_FILE: s.enqueueFile,
    AQ_ENTITY_OFFSET: s.entityOffset,
    AQ_ENTITY_COUNT: s.entityCount,
    AQ_ENTITY_ID_PREFIX: s.entityIdPrefix,
    AQ_JOBS_PER_ENTITY: s.jobsPerEntity,
    AQ_RATE: s.ratePerSecond,
    AQ_ATTEMPTS: s.attempts,
    AQ_BACKOFF_MS: s.backoffMs,
    AQ_JOB_NAME: s.jobName,
    AQ_RECORD_FAILED_ADDS: s.recordFailedAdds === undefined ? undefined : s.recordFailedAdds ? 1 : 0,
    AQ_DURATION_MS: s.durationMs,
    AQ_REMOVE_ON_COMPLETE: s.removeOnComplete === undefined ? undefined : s.removeOnComplete ? 1 : 0,
  };
}

/**
 * Redis list each entity's applied effects go to with AQ_FENCING (`<seq>|<jobId>|<attempt>|<node>|<token>` per write
 * the fencing check let through).
 */
export const effectKey = (keyPrefix: string, entityType: string, entityId: string): string =>
  `${keyPrefix}:chaos:effects:${entityType}:${entityId}`;

/** The rule deciding how a job runs (first match wins per field). */
export function jobPlan(rules: readonly JobRule[], entityId: string, seq: number | undefined, defaultMs: number): { delayMs: number; failTimes: number } {
  const matching = rules.filter((r) => (r.entityId === undefined || r.entityId === entityId) && (r.seq === undefined || r.seq === seq));
  return {
    delayMs: matching.find((r) => r.delayMs !== undefined)?.delayMs ?? defaultMs,
    failTimes: matching.find((r) => r.failTimes !== undefined)?.failTimes ?? 0,
  };
}
