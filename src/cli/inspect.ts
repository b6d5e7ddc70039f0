import type { Job, JobType, Queue } from 'bullmq';
import { entityQueueName, entityWorkerName, keys } from '../config/keys.js';
import { leaseMember } from '../engine/leases.js';
import { assertEntity } from '../validation.js';
import { parseAttemptFailedLogLine, parseRetriedLogLine } from '../workers/attempt-log.js';
import { ownerNode } from '../workers/worker-names.js';
import { serverMs, type CliContext } from './context.js';
import { CliNotFoundError } from './errors.js';

/** The job states `inspect` reports, in the order BullMQ moves a job through them. */
const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;
export type InspectedJobState = (typeof JOB_STATES)[number];
export type QueueCounts = Record<InspectedJobState, number>;

export interface InspectedWorker {
  workerName: string;
  /** State the index records ('starting' | 'running' | 'closing' | 'closed'), or undefined when it has none. */
  state?: string;
  /** Node holding the worker's heartbeat (else the node the index names). */
  nodeId?: string;
  /** Heartbeat key present (the worker is alive somewhere). */
  alive: boolean;
  /** Milliseconds before the heartbeat expires unless refreshed; undefined when it is gone. */
  heartbeatTtlMs?: number;
  /** Milliseconds before the engine's lease of the entity expires (engine-spawned workers); undefined without lease. */
  leaseExpiresInMs?: number;
}

export interface InspectedLock {
  /** Held right now (`ResourceLockService` lock of resource `<type>/<id>`). */
  held: boolean;
  ownerId?: string;
  ownerType?: string;
  /** Fencing token of the current holder. */
  fencingToken?: number;
  /** Milliseconds before the lock expires. */
  ttlMs?: number;
  /** Latest token ever issued for the resource (0: never locked). */
  latestFencingToken: number;
}

export interface InspectedJob {
  id: string;
  name: string;
  state: InspectedJobState;
  /** Attempts run since the job was last queued (in-place retries included), the running one counted. */
  attempts: number;
  /** Times `retry-failed` moved it back to wait after a final failure. */
  retried: number;
  maxAttempts: number;
  /** Times BullMQ started the job (a stalled job that re-ran counts twice). */
  attemptsStarted: number;
  createdAt: number;
  processedAt?: number;
  finishedAt?: number;
  /** Error of each failed attempt of its whole life, in order (in-place retries and final failures). */
  errors: string[];
}

export interface EntityInspection {
  entityType: string;
  entityId: string;
  keyPrefix: string;
  queueName: string;
  /** Redis server time (ms) the inspection was taken at. */
  now: number;
  /** The queue is in the entity index (not retired). */
  indexed: boolean;
  /** Jobs the index counts as not finished. */
  pendingJobs: number;
  /** Server time the oldest pending job was indexed. */
  oldestPendingAt?: number;
  /** Server time of the entity's last index activity. */
  lastActivityAt?: number;
  /** Due time (ms) when the entity is marked ready for the engine to take. */
  readyAt?: number;
  paused: boolean;
  counts: QueueCounts;
  workers: InspectedWorker[];
  lock: InspectedLock;
  /** The last `jobs` jobs (by creation), oldest of them first. */
  jobs: InspectedJob[];
}

/** `atomic-queues inspect <type> <id>`: everything about one entity, as plain data (rendered by ./render.ts). */
export async function inspectEntity(ctx: CliContext, entityType: string, entityId: string, jobLimit: number): Promise<EntityInspection> {
  assertEntity(entityType, entityId);
  const { redis, prefix } = ctx;
  const queueName = entityQueueName(entityType, entityId);
  const [time, queueIndexed, pending, oldest, touched, readyAt] = await Promise.all([
    redis.time(),
    redis.hget(keys.indexQueues(prefix, entityType), entityId),
    redis.hget(keys.indexJobs(prefix, entityType), entityId),
    redis.zrange(keys.indexJobSet(prefix, entityType, entityId), 0, 0, 'WITHSCORES'),
    redis.zscore(keys.indexTouched(prefix, entityType), entityId),
    redis.zscore(keys.ready(prefix, entityType), entityId),
  ]);
  const queue = ctx.openQueue(queueName);
  const [workers, lock, counts, paused, jobs] = await Promise.all([
    entityWorkers(ctx, entityType, entityId),
    entityLock(ctx, entityType, entityId),
    queue.getJobCounts(...JOB_STATES) as Promise<QueueCounts>,
    queue.isPaused(),
    lastJobs(ctx, queue, jobLimit),
  ]);
  const inspection: EntityInspection = {
    entityType,
    entityId,
    keyPrefix: prefix,
    queueName,
    now: serverMs(time),
    indexed: queueIndexed !== null,
    pendingJobs: Number(pending ?? 0),
    ...(oldest[1] !== undefined ? { oldestPendingAt: Number(oldest[1]) } : {}),
    ...(touched !== null ? { lastActivityAt: Number(touched) } : {}),
    ...(readyAt !== null ? { readyAt: Number(readyAt) } : {}),
    paused,
    counts,
    workers,
    lock,
    jobs,
  };
  const anyJob = Object.values(counts).some((n) => n > 0);
  if (!inspection.indexed && !anyJob && inspection.pendingJobs === 0 && workers.length === 0 && lock.latestFencingToken === 0) {
    throw new CliNotFoundError(`entity ${entityType}/${entityId} not found under key prefix '${prefix}' (no queue, index entry, worker or lock); check the type, the id and --key-prefix`);
  }
  return inspection;
}

/** The entity's workers: those the index names and the conventional name, with heartbeat and lease. */
async function entityWorkers(ctx: CliContext, entityType: string, entityId: string): Promise<InspectedWorker[]> {
  const { redis, prefix, index } = ctx;
  const states = await index.getEntityWorkerStates(entityType, entityId);
  const names = [...new Set([...states.map((s) => s.workerName), entityWorkerName(entityType, entityId)])];
  const [now, ...rows] = await Promise.all([
    redis.time().then(serverMs),
    ...names.map((name) =>
      Promise.all([
        redis.get(keys.heartbeat(prefix, name)),
        redis.pttl(keys.heartbeat(prefix, name)),
        redis.zscore(keys.leases(prefix), leaseMember({ entityType, entityId }, name)),
      ]),
    ),
  ]);
  const out: InspectedWorker[] = [];
  names.forEach((workerName, i) => {
    const [owner, pttl, lease] = rows[i]!;
    const state = states.find((s) => s.workerName === workerName);
    if (owner === null && !state && lease === null) return; // the conventional name, never used
    const nodeId = owner !== null ? ownerNode(owner) : state?.nodeId || undefined;
    out.push({
      workerName,
      ...(state ? { state: state.state } : {}),
      ...(nodeId ? { nodeId } : {}),
      alive: owner !== null,
      ...(owner !== null && pttl > 0 ? { heartbeatTtlMs: pttl } : {}),
      ...(lease !== null ? { leaseExpiresInMs: Number(lease) - now } : {}),
    });
  });
  return out;
}

/** ResourceLockService's lock of resource `<type>/<id>`. */
async function entityLock(ctx: CliContext, entityType: string, entityId: string): Promise<InspectedLock> {
  const { locks, redis, prefix } = ctx;
  const [owner, pttl, latestFencingToken] = await Promise.all([
    locks.getLockOwner(entityType, entityId),
    redis.pttl(keys.lock(prefix, entityType, entityId)),
    locks.getLatestFencingToken(entityType, entityId),
  ]);
  if (!owner) return { held: false, latestFencingToken };
  return { held: true, ...owner, ...(pttl > 0 ? { ttlMs: pttl } : {}), latestFencingToken };
}


/** The newest `limit` jobs over every state, oldest of them first, with their attempts and errors. */
async function lastJobs(ctx: CliContext, queue: Queue, limit: number): Promise<InspectedJob[]> {
  if (limit === 0) return [];
  const perState = await Promise.all(
    JOB_STATES.map(async (state) => {
      // Lists and sets of BullMQ hold their newest job first when read descending.
      const jobs = (await queue.getJobs([state as JobType], 0, limit - 1, false)) as Job[];
      return jobs.filter((j): j is Job => Boolean(j)).map((job) => ({ job, state }));
    }),
  );
  const newest = perState
    .flat()
    .sort((a, b) => b.job.timestamp - a.job.timestamp)
    .slice(0, limit)
    .reverse();
  const attemptsKey = keys.attempts(ctx.prefix, queue.name);
  return Promise.all(
    newest.map(async ({ job, state }) => {
      const id = String(job.id);
      const [{ logs }, current] = await Promise.all([queue.getJobLogs(id, 0, -1, true), ctx.redis.hget(attemptsKey, id)]);
      // The job's log: `attempt n failed: …` per failed in-place attempt, `retried after final failure: …` per retry.
      const errors: string[] = [];
      let retried = 0;
      let failedSinceQueued = 0;
      for (const line of logs) {
        const failed = parseAttemptFailedLogLine(line);
        const retry = failed ? undefined : parseRetriedLogLine(line);
        if (failed) {
          errors.push(failed.message);
          failedSinceQueued += 1;
        } else if (retry) {
          errors.push(retry.failedReason);
          retried += 1;
          failedSinceQueued = 0;
        }
      }
      if (state === 'failed' && job.failedReason) errors.push(job.failedReason);
      const started = state === 'active' || state === 'completed' || state === 'failed';
      // In-place retries: the counter of the running job; otherwise the logged failures plus the last attempt.
      const attempts = current !== null ? Number(current) : failedSinceQueued + (started ? 1 : 0);
      return {
        id,
        name: job.name,
        state,
        attempts,
        retried,
        maxAttempts: Math.max(1, job.opts.attempts ?? 1),
        attemptsStarted: job.attemptsStarted ?? 0,
        createdAt: job.timestamp,
        ...(job.processedOn ? { processedAt: job.processedOn } : {}),
        ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}),
        errors,
      };
    }),
  );
}
