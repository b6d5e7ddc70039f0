import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Cluster, Redis } from 'ioredis';
import { configRules, type ValidationRules } from '../validation.js';
import { boolOrCount, checkKeys, fail, integer, isPlainObject, nonEmptyString, objectAt } from './rules.js';
import { resolveTelemetry, type ResolvedTelemetryConfig, type TelemetryConfig } from '../telemetry/telemetry-config.js';

/** Redis settings: either an existing ioredis connection (never closed by the module) or connection settings. */
export interface AtomicQueuesRedisConfig {
  host?: string;
  port?: number;
  /** ACL user (Redis 6+); authenticates with `password`. Without it, `password` is the `default` user's. */
  username?: string;
  password?: string;
  /**
   * Database index, 0 or more: the server's `databases` setting (16 by default) is the bound, checked by Redis at
   * connect (bootstrap then fails naming the index). Not available on Redis Cluster.
   */
  db?: number;
  /**
   * TLS for every connection the module opens (its own and BullMQ's): Node's `tls.connect` options, e.g.
   * `{ ca, cert, key, servername }`; `{}` for TLS with the system CAs. A `rediss://` URL turns TLS on as well.
   */
  tls?: TlsConnectionOptions;
  /** `redis://` or `rediss://` URL; host/port/username/password/db given beside it override its parts. */
  url?: string;
  /** For the module's command connection (workers always use `null`, as BullMQ requires). */
  maxRetriesPerRequest?: number | null;
  /** An existing ioredis instance. The module duplicates it for its subscriber and never closes it. */
  connection?: Redis | Cluster;
  /**
   * Bootstrap waits at most this long (ms) for every connection of the module to be ready, then fails with one
   * AtomicQueuesConnectionError naming the address and the cause. Also the TCP connect timeout of the module's
   * own connections. Default 5000.
   */
  connectTimeoutMs?: number;
  /**
   * An add (addJob / addEntityJob) made while Redis is unreachable waits at most this long (ms) for the connection
   * to come back, then fails with AtomicQueuesConnectionError. Default 5000.
   */
  commandTimeoutMs?: number;
}

/** The Redis settings after validation: the timeouts always set. */
export type ResolvedRedisConfig = Readonly<AtomicQueuesRedisConfig & Required<Pick<AtomicQueuesRedisConfig, 'connectTimeoutMs' | 'commandTimeoutMs'>>>;

export interface WorkerDefaultsConfig {
  /**
   * Jobs of one entity queue that may run at once, enforced in Redis (BullMQ global concurrency). Default 1.
   * Raising it above 1 gives up per-entity ordering and one-at-a-time processing.
   */
  concurrency?: number;
  /** BullMQ stalled-job check interval, ms. Default 1000. */
  stalledInterval?: number;
  /** BullMQ job lock duration, ms. Default 30000. */
  lockDuration?: number;
  /** Times a job may stall before BullMQ fails it. Default Number.MAX_SAFE_INTEGER (a stalled job is always re-run). */
  maxStalledCount?: number;
  /** Worker heartbeat TTL in SECONDS. Default 3. */
  heartbeatTTL?: number;
  /** Heartbeat refresh period in MILLISECONDS; must be < heartbeatTTL * 1000. Default 1000. */
  heartbeatInterval?: number;
}

/** The entity engine: how a node takes entities with work and how many it serves at once. */
export interface EngineConfig {
  /**
   * Entities this node serves at once (live entity workers started by the dispatcher or the cron). The node
   * takes new entities only while below it, so idle capacity pulls work and load spreads over the nodes.
   * Default 1000.
   */
  maxActiveEntitiesPerNode?: number;
  /**
   * A worker started by the dispatcher or the cron releases its entity after this long without a job (its
   * slot frees; the next job of the entity is taken by whichever node has room). Released at once while
   * other entities wait for a slot. Default 2000 ms.
   */
  idleReleaseMs?: number;
  /** Period of the node's ready-set poll and lease check (lost signals, due delayed jobs, dead owners). Default 1000 ms. */
  pollInterval?: number;
  /** Take ready entities of registered entity types as soon as they are signalled (no cron tick). Default true. */
  dispatch?: boolean;
}

export type BackoffType = 'fixed' | 'exponential';
export const BACKOFF_TYPES: readonly BackoffType[] = ['fixed', 'exponential'];

export interface BackoffConfig {
  type: BackoffType;
  /** ms */
  delay: number;
}

export interface DefaultJobOptionsConfig {
  removeOnComplete?: boolean | number;
  removeOnFail?: boolean | number;
  attempts?: number;
  backoff?: BackoffConfig;
  priority?: number;
}

export interface QueueDefaultsConfig {
  defaultJobOptions?: DefaultJobOptionsConfig;
  /**
   * Events kept in each queue's BullMQ event stream (`streams.events.maxLen` of the queues the module opens;
   * trimmed approximately, so up to about 100 more). Default 100: BullMQ's own default, 10,000 per queue, is
   * kept by every entity queue, so Redis memory grows with entities × 10,000 events (~650 KiB per entity).
   * A `QueueEvents` listener that falls further behind than this misses events.
   */
  eventsMaxLen?: number;
}

/** Default `queueDefaults.eventsMaxLen`. */
export const DEFAULT_EVENTS_MAX_LEN = 100;

/**
 * The index sweeper (IndexSweeperService), run on every node: repairs pending counts left by a process that died
 * between a job's end and its unindex, and retires entities idle for `entityRetentionMs`.
 */
export interface IndexSweepConfig {
  /** Sweep period, ms. 0 turns the periodic sweep off (`IndexSweeperService.sweep()` still works). Default 30000. */
  interval?: number;
  /** Entities examined per entity type and sweep (the sweep resumes where it stopped). Default 500. */
  batchSize?: number;
  /**
   * An entity with no pending job, no live worker and an empty queue for this long (ms since its last job was
   * indexed or finished) is retired: its BullMQ queue keys (kept completed/failed jobs included), index entries
   * and cached Queue objects are removed. 0 never retires. Default 3600000 (1 hour).
   */
  entityRetentionMs?: number;
  /**
   * An indexed job id whose BullMQ job does not exist (removed on completion, or not added yet: jobs are indexed
   * just before they are added) is unindexed only once it was indexed at least this long ago. Default 60000.
   */
  missingJobGraceMs?: number;
}

export interface AtomicQueuesConfig {
  redis: AtomicQueuesRedisConfig;
  workerDefaults?: WorkerDefaultsConfig;
  queueDefaults?: QueueDefaultsConfig;
  /** Start CronManagerService on bootstrap. Default false. */
  enableCronManager?: boolean;
  /** Cron tick period, ms. Default 5000. */
  cronInterval?: number;
  /** Prefix of every Redis key the module writes, BullMQ queues included. No ':' or whitespace. Default 'aq'. */
  keyPrefix?: string;
  /** Identity of this process in heartbeats and shutdown signals. Default `${hostname}-${pid}-${random}`. */
  nodeId?: string;
  /** Upper bound for graceful shutdown (waiting for in-flight jobs), ms. Default 30000. */
  shutdownTimeoutMs?: number;
  /** Largest job `data` accepted by addJob / addEntityJob, in bytes of its JSON (UTF-8). Default 1 MiB (1048576). */
  maxJobDataBytes?: number;
  /** The entity engine (dispatcher, slots, idle release). */
  engine?: EngineConfig;
  /** Index repair and retirement of idle entities; see IndexSweepConfig. */
  indexSweep?: IndexSweepConfig;
  /** OpenTelemetry spans and metrics (optional peer `@opentelemetry/api`); see TelemetryConfig. Default off. */
  telemetry?: TelemetryConfig;
}

export interface ResolvedAtomicQueuesConfig {
  readonly redis: ResolvedRedisConfig;
  readonly workerDefaults: Readonly<Required<WorkerDefaultsConfig>>;
  readonly queueDefaults: { readonly defaultJobOptions: Readonly<DefaultJobOptionsConfig>; readonly eventsMaxLen: number };
  readonly enableCronManager: boolean;
  readonly cronInterval: number;
  readonly keyPrefix: string;
  readonly nodeId: string;
  readonly shutdownTimeoutMs: number;
  readonly maxJobDataBytes: number;
  readonly engine: Readonly<Required<EngineConfig>>;
  readonly indexSweep: Readonly<Required<IndexSweepConfig>>;
  readonly telemetry: ResolvedTelemetryConfig;
}

/** Injection token of the resolved config. */
export const ATOMIC_QUEUES_CONFIG = Symbol.for('@nestjs/atomic-queues:config');

export const WORKER_DEFAULTS: Readonly<Required<WorkerDefaultsConfig>> = Object.freeze({
  concurrency: 1,
  stalledInterval: 1000,
  lockDuration: 30000,
  maxStalledCount: Number.MAX_SAFE_INTEGER,
  heartbeatTTL: 3,
  heartbeatInterval: 1000,
});

export const ENGINE_DEFAULTS: Readonly<Required<EngineConfig>> = Object.freeze({
  maxActiveEntitiesPerNode: 1000,
  idleReleaseMs: 2000,
  pollInterval: 1000,
  dispatch: true,
});

export const DEFAULT_KEY_PREFIX = 'aq';
export const DEFAULT_CRON_INTERVAL = 5000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;
/** 1 MiB: see README (Configuration) for why. */
export const DEFAULT_MAX_JOB_DATA_BYTES = 1024 * 1024;
/** Redis' largest string (proto-max-bulk-len default): no job can be larger. */
export const MAX_JOB_DATA_BYTES = 512 * 1024 * 1024;
export const INDEX_SWEEP_DEFAULTS: Readonly<Required<IndexSweepConfig>> = Object.freeze({
  interval: 30_000,
  batchSize: 500,
  entityRetentionMs: 3_600_000,
  missingJobGraceMs: 60_000,
});
/** BullMQ's priority range. */
export const MAX_PRIORITY = 2_097_152;

function resolveRedis(value: unknown): ResolvedRedisConfig {
  if (!isPlainObject(value)) return fail('redis', 'is required: give { url } or { host, port } or { connection } (an ioredis instance)', value);
  checkKeys('redis', value, ['host', 'port', 'username', 'password', 'db', 'tls', 'url', 'maxRetriesPerRequest', 'connection', 'connectTimeoutMs', 'commandTimeoutMs']);
  const out: AtomicQueuesRedisConfig & Required<Pick<AtomicQueuesRedisConfig, 'connectTimeoutMs' | 'commandTimeoutMs'>> = {
    connectTimeoutMs: integer('redis.connectTimeoutMs', value.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 1),
    commandTimeoutMs: integer('redis.commandTimeoutMs', value.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, 1),
  };
  if (value.connection !== undefined) {
    const c = value.connection as { duplicate?: unknown; status?: unknown };
    if (typeof c?.duplicate !== 'function') fail('redis.connection', 'must be an ioredis Redis or Cluster instance (no duplicate() method)', c);
    out.connection = value.connection as Redis | Cluster;
  }
  if (value.url !== undefined) {
    const url = nonEmptyString('redis.url', value.url);
    if (!/^rediss?:\/\//.test(url)) fail('redis.url', "must start with 'redis://' or 'rediss://'", url);
    try {
      new URL(url);
    } catch {
      fail('redis.url', 'must be a valid URL', url);
    }
    out.url = url;
  }
  if (value.host !== undefined) out.host = nonEmptyString('redis.host', value.host);
  if (value.port !== undefined) out.port = integer('redis.port', value.port, 1, 65535);
  if (value.username !== undefined) out.username = nonEmptyString('redis.username', value.username);
  if (value.password !== undefined) out.password = typeof value.password === 'string' ? value.password : fail('redis.password', 'must be a string', '[redacted]');
  // No upper bound here: the server's `databases` setting decides (SELECT fails at connect, naming the index).
  if (value.db !== undefined) out.db = integer('redis.db', value.db, 0);
  if (value.tls !== undefined) {
    if (!isPlainObject(value.tls)) fail('redis.tls', "must be an object of node:tls connect options ({} for TLS with the system's CAs)", `[${value.tls === null ? 'null' : typeof value.tls}]`);
    out.tls = value.tls as TlsConnectionOptions;
  }
  if (value.maxRetriesPerRequest !== undefined) {
    out.maxRetriesPerRequest = value.maxRetriesPerRequest === null ? null : integer('redis.maxRetriesPerRequest', value.maxRetriesPerRequest, 0);
  }
  if (out.connection === undefined && out.url === undefined && out.host === undefined && out.port === undefined) {
    fail('redis', 'needs connection settings: one of url, host, port or connection', value);
  }
  if (out.connection !== undefined && (out.url ?? out.host ?? out.port ?? out.db ?? out.username ?? out.password ?? out.tls) !== undefined) {
    fail('redis', 'takes either connection or url/host/port/username/password/db/tls, not both', Object.keys(value).join(','));
  }
  return out;
}

/**
 * Validates worker settings over `base` (module defaults, or the resolved module settings for a per-worker
 * override). `path` prefixes error paths. `rules` chooses the error class: configRules (module config,
 * AtomicQueuesConfigError) or argumentRules (a `createWorker({ config })` argument, AtomicQueuesValidationError).
 */
export function resolveWorkerDefaults(
  value: unknown,
  base: Readonly<Required<WorkerDefaultsConfig>> = WORKER_DEFAULTS,
  path = 'workerDefaults',
  rules: ValidationRules = configRules,
): Required<WorkerDefaultsConfig> {
  const obj = rules.object(path, value) ?? {};
  rules.knownKeys(path, obj, Object.keys(WORKER_DEFAULTS));
  const pick = <K extends keyof WorkerDefaultsConfig>(k: K) => (obj[k] === undefined ? base[k] : obj[k]);
  const out = {
    concurrency: rules.integer(`${path}.concurrency`, pick('concurrency'), 1),
    stalledInterval: rules.integer(`${path}.stalledInterval`, pick('stalledInterval'), 1),
    lockDuration: rules.integer(`${path}.lockDuration`, pick('lockDuration'), 1),
    maxStalledCount: rules.integer(`${path}.maxStalledCount`, pick('maxStalledCount'), 0),
    heartbeatTTL: rules.positiveNumber(`${path}.heartbeatTTL`, pick('heartbeatTTL')),
    heartbeatInterval: rules.integer(`${path}.heartbeatInterval`, pick('heartbeatInterval'), 1),
  };
  if (!Number.isInteger(out.heartbeatTTL * 1000)) rules.fail(`${path}.heartbeatTTL`, 'must be a whole number of milliseconds when expressed in seconds (e.g. 1, 1.5, 3)', out.heartbeatTTL);
  if (out.heartbeatInterval >= out.heartbeatTTL * 1000) {
    rules.fail(`${path}.heartbeatInterval`, `must be < heartbeatTTL * 1000 (= ${out.heartbeatTTL * 1000} ms) so a live worker refreshes before its heartbeat expires`, out.heartbeatInterval);
  }
  return out;
}

export function resolveBackoff(path: string, value: unknown): BackoffConfig {
  const obj = isPlainObject(value) ? value : fail(path, 'must be an object { type, delay }', value);
  checkKeys(path, obj, ['type', 'delay']);
  if (!BACKOFF_TYPES.includes(obj.type as BackoffType)) fail(`${path}.type`, `must be one of ${BACKOFF_TYPES.map((t) => `'${t}'`).join(' | ')}`, obj.type);
  return { type: obj.type as BackoffType, delay: integer(`${path}.delay`, obj.delay, 0) };
}

/** Validates job options (module defaults or per-call options); `path` prefixes error paths. */
export function resolveJobOptions(path: string, value: unknown): DefaultJobOptionsConfig {
  const obj = objectAt(path, value) ?? {};
  checkKeys(path, obj, ['removeOnComplete', 'removeOnFail', 'attempts', 'backoff', 'priority']);
  const out: DefaultJobOptionsConfig = {};
  const rc = boolOrCount(`${path}.removeOnComplete`, obj.removeOnComplete);
  if (rc !== undefined) out.removeOnComplete = rc;
  const rf = boolOrCount(`${path}.removeOnFail`, obj.removeOnFail);
  if (rf !== undefined) out.removeOnFail = rf;
  if (obj.attempts !== undefined) out.attempts = integer(`${path}.attempts`, obj.attempts, 1);
  if (obj.backoff !== undefined) out.backoff = resolveBackoff(`${path}.backoff`, obj.backoff);
  if (obj.priority !== undefined) out.priority = integer(`${path}.priority`, obj.priority, 0, MAX_PRIORITY);
  return out;
}

export function resolveEngine(value: unknown, path = 'engine'): Required<EngineConfig> {
  const obj = objectAt(path, value) ?? {};
  checkKeys(path, obj, Object.keys(ENGINE_DEFAULTS));
  const pick = <K extends keyof EngineConfig>(k: K) => (obj[k] === undefined ? ENGINE_DEFAULTS[k] : obj[k]);
  const dispatch = pick('dispatch');
  if (typeof dispatch !== 'boolean') fail(`${path}.dispatch`, 'must be true or false', dispatch);
  return {
    maxActiveEntitiesPerNode: integer(`${path}.maxActiveEntitiesPerNode`, pick('maxActiveEntitiesPerNode'), 1, 1_000_000),
    idleReleaseMs: integer(`${path}.idleReleaseMs`, pick('idleReleaseMs'), 1),
    pollInterval: integer(`${path}.pollInterval`, pick('pollInterval'), 10),
    dispatch: dispatch as boolean,
  };
}

function resolveIndexSweep(value: unknown): Required<IndexSweepConfig> {
  const obj = objectAt('indexSweep', value) ?? {};
  checkKeys('indexSweep', obj, Object.keys(INDEX_SWEEP_DEFAULTS));
  const pick = <K extends keyof IndexSweepConfig>(k: K) => (obj[k] === undefined ? INDEX_SWEEP_DEFAULTS[k] : obj[k]);
  return {
    interval: integer('indexSweep.interval', pick('interval'), 0),
    batchSize: integer('indexSweep.batchSize', pick('batchSize'), 1, 10_000),
    entityRetentionMs: integer('indexSweep.entityRetentionMs', pick('entityRetentionMs'), 0),
    // Below a second, a slow add (indexed, then added) could look like a vanished job.
    missingJobGraceMs: integer('indexSweep.missingJobGraceMs', pick('missingJobGraceMs'), 1000),
  };
}

const PREFIX_RE = /^[^\s:\x00-\x1f\x7f]{1,64}$/;
const NODE_ID_RE = /^[^\s\x00-\x1f\x7f|]{1,128}$/;

export function defaultNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Validates a user config and applies the defaults. Throws AtomicQueuesConfigError naming the field path. */
export function resolveConfig(input: AtomicQueuesConfig): ResolvedAtomicQueuesConfig {
  if (!isPlainObject(input)) return fail('(config)', 'must be an object with at least { redis }', input);
  checkKeys('', input, ['redis', 'workerDefaults', 'queueDefaults', 'enableCronManager', 'cronInterval', 'keyPrefix', 'nodeId', 'shutdownTimeoutMs', 'maxJobDataBytes', 'engine', 'indexSweep', 'telemetry']);
  const redis = resolveRedis(input.redis);
  const workerDefaults = resolveWorkerDefaults(input.workerDefaults);
  const qd = objectAt('queueDefaults', input.queueDefaults) ?? {};
  checkKeys('queueDefaults', qd, ['defaultJobOptions', 'eventsMaxLen']);
  const defaultJobOptions = resolveJobOptions('queueDefaults.defaultJobOptions', qd.defaultJobOptions);
  const eventsMaxLen = integer('queueDefaults.eventsMaxLen', qd.eventsMaxLen ?? DEFAULT_EVENTS_MAX_LEN, 0);
  const enableCronManager = input.enableCronManager ?? false;
  if (typeof enableCronManager !== 'boolean') fail('enableCronManager', 'must be true or false', enableCronManager);
  const cronInterval = integer('cronInterval', input.cronInterval ?? DEFAULT_CRON_INTERVAL, 1);
  const keyPrefix = input.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (typeof keyPrefix !== 'string' || !PREFIX_RE.test(keyPrefix)) {
    fail('keyPrefix', "must be 1-64 characters without ':', whitespace or control characters", keyPrefix);
  }
  const nodeId = input.nodeId ?? defaultNodeId();
  if (typeof nodeId !== 'string' || !NODE_ID_RE.test(nodeId)) {
    fail('nodeId', "must be 1-128 characters without '|', whitespace or control characters", nodeId);
  }
  const shutdownTimeoutMs = integer('shutdownTimeoutMs', input.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS, 0);
  const maxJobDataBytes = integer('maxJobDataBytes', input.maxJobDataBytes ?? DEFAULT_MAX_JOB_DATA_BYTES, 1, MAX_JOB_DATA_BYTES);
  const engine = resolveEngine(input.engine);
  const indexSweep = resolveIndexSweep(input.indexSweep);
  const telemetry = resolveTelemetry(input.telemetry);
  return Object.freeze({
    redis: Object.freeze(redis),
    workerDefaults: Object.freeze(workerDefaults),
    queueDefaults: Object.freeze({ defaultJobOptions: Object.freeze(defaultJobOptions), eventsMaxLen }),
    enableCronManager,
    cronInterval,
    keyPrefix,
    nodeId,
    shutdownTimeoutMs,
    maxJobDataBytes,
    engine: Object.freeze(engine),
    indexSweep: Object.freeze(indexSweep),
    telemetry,
  });
}
