import { Inject, Injectable } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { entityQueueName, keys } from '../config/keys.js';
import { ATOMIC_QUEUES_CLOCK, type Clock, type ClockTimer } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { AtomicQueuesValidationError } from '../errors.js';
import { assertEntity, assertEntityPart, assertName, assertNonEmptyString } from '../validation.js';
import type { LuaScript } from '../redis/lua-script.js';
import { isCluster } from '../drivers/redis-client.js';
import { indexJobScript, indexQueueScript, retireEntityScript, sweepPageScript, unindexJobBatchScript, unindexJobScript, unindexJobsScript } from './index.lua.js';

export type WorkerState = 'starting' | 'running' | 'closing' | 'closed';
export const WORKER_STATES: readonly WorkerState[] = ['starting', 'running', 'closing', 'closed'];

export interface EntityWorkerState {
  entityId: string;
  workerName: string;
  state: WorkerState;
  nodeId: string;
  /** Clock time of the last state change. */
  updatedAt: number;
}

/** What indexEntityJob tells the adder. */
export interface IndexedJob {
  entityType: string;
  entityId: string;
  jobId: string;
  /** Pending jobs of the entity, this one included. */
  pending: number;
  /** False when the entity's queue is not (or no longer: retired) in the index: register it again before adding. */
  queueIndexed: boolean;
  /** Clock time just before the job was indexed (for confirmIndexed). */
  since: number;
}

/** One entity of a sweep page (sweepPage). */
export interface SweepEntity {
  entityId: string;
  /** Server time (ms) of its last index activity. */
  lastActivity: number;
  pending: number;
  /** Its indexed queue name, or undefined. */
  queueName?: string;
  /** Its oldest indexed jobs (at most the page's jobsPerEntity) with the server time each was indexed. */
  jobs: { jobId: string; indexedAt: number }[];
}

export type RetireOutcome = 'retired' | 'more' | 'recent' | 'pending' | 'worker' | 'busy';

/**
 * Redis indices of entities: pending jobs per entity (`${keyPrefix}:idx:${type}:jobs` HASH entityId → count, with
 * a ZSET of job ids per entity, scored by the time each was indexed, so each job is counted and discounted
 * exactly once), the entity's queue (`…:queues` HASH entityId → queueName), worker states (`…:workers` HASH
 * `${entityId}:${workerName}` → `state|nodeId|updatedAt`) and last activity (`…:touched` ZSET entityId → ms), plus
 * `${keyPrefix}:queue-entity` (HASH queueName → `${entityType}:${entityId}`) so any process can tell which entity
 * a queue serves, and `${keyPrefix}:idx:types` (SET). Times in the index are Redis server time (one clock for
 * every node). IndexSweeperService repairs and retires entries.
 */
/** Jobs per batched unindex call (bounds how long one call blocks Redis). */
const UNINDEX_BATCH = 500;
/** Longest a completion waits to be unindexed with others (other processes see pending counts this much late). */
const UNINDEX_DELAY_MS = 10;

@Injectable()
export class IndexManagerService {
  /** unindexJobSoon requests waiting for the next flush, per entity type. */
  private readonly unindexing = new Map<string, Array<{ entityId: string; jobId: string; settle(err?: unknown): void }>>();
  private unindexTimer?: ClockTimer;
  private unindexBuffered = 0;
  private unindexFlush?: Promise<void>;

  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
  ) {}

  private get prefix(): string {
    return this.config.keyPrefix;
  }

  /** Records a pending job of the entity (idempotent per job id). Returns the entity's pending count. */
  async indexJob(entityType: string, entityId: string, jobId: string): Promise<number> {
    return (await this.indexEntityJob(entityType, entityId, jobId)).pending;
  }

  /**
   * indexJob for an adder: also tells whether the entity's queue is indexed (a queue retired by the sweeper must
   * be registered again before the job is added). Call confirmIndexed once the job has been added.
   */
  async indexEntityJob(entityType: string, entityId: string, jobId: string): Promise<IndexedJob> {
    assertEntity(entityType, entityId);
    assertNonEmptyString('jobId', jobId);
    const p = this.prefix;
    const since = this.clock.now();
    const [pending, queueIndexed] = await indexJobScript.run<[number, number]>(
      this.redis,
      [keys.indexJobSet(p, entityType, entityId), keys.indexJobs(p, entityType), keys.indexTouched(p, entityType), keys.indexQueues(p, entityType), keys.indexTypes(p)],
      [jobId, entityId, entityType],
    );
    return { entityType, entityId, jobId, pending: Number(pending), queueIndexed: Number(queueIndexed) === 1, since };
  }

  /**
   * After the job of `indexed` was added. The sweeper unindexes a job id whose BullMQ job does not exist once it
   * was indexed more than `indexSweep.missingJobGraceMs` before the sweeper looked; a job is added after it is
   * indexed, so an add that took that long could have been looked at too early. Such a slow add (half the grace,
   * for margin) indexes the job again (a no-op if it is still indexed). Fast adds cost nothing here.
   * Why this is enough: the sweeper reads the server time T, then sees the job missing, so the add ran after T
   * and after indexedAt + grace < T; the add finished later still, so it measured more than the grace.
   */
  async confirmIndexed(indexed: IndexedJob): Promise<void> {
    if (this.clock.now() - indexed.since < this.config.indexSweep.missingJobGraceMs / 2) return;
    await this.indexJob(indexed.entityType, indexed.entityId, indexed.jobId);
  }

  /**
   * Marks a job as finished for good (completed, or failed with no retry left). Decrements the entity's count
   * exactly once per job id, however often it is reported. Returns true if this call removed it.
   */
  async unindexJob(entityType: string, entityId: string, jobId: string): Promise<boolean> {
    return (await this.runJobScript(unindexJobScript, entityType, entityId, jobId)) === 1;
  }

  /**
   * `unindexJob`, batched: completions are collected for up to 10 ms (or 500 jobs) and unindexed with one script
   * call per entity type instead of one per job, which halves the module's Redis work per job. Resolves when this
   * job's batch is stored. Reads of this service (`getEntitiesWithJobs`) store the collected ones first, so this
   * process never sees a stale count; other processes may see it up to 10 ms late (the cron and the sweeper
   * tolerate that). On a Cluster (the entities' job sets live in different slots) each job keeps its own call.
   */
  unindexJobSoon(entityType: string, entityId: string, jobId: string): Promise<void> {
    assertEntity(entityType, entityId);
    assertNonEmptyString('jobId', jobId);
    return new Promise<void>((resolve, reject) => {
      const list = this.unindexing.get(entityType) ?? [];
      list.push({ entityId, jobId, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      this.unindexing.set(entityType, list);
      this.unindexBuffered += 1;
      if (this.unindexBuffered >= UNINDEX_BATCH) void this.flushPendingUnindex();
      else this.unindexTimer ??= this.clock.setTimeout(() => void this.flushPendingUnindex(), UNINDEX_DELAY_MS, { unref: true, label: 'atomic-queues unindex batch' });
    });
  }

  /** Stores the completions collected by unindexJobSoon now (the module calls it before reads and at shutdown). */
  async flushPendingUnindex(): Promise<void> {
    this.clock.clear(this.unindexTimer);
    this.unindexTimer = undefined;
    if (this.unindexBuffered > 0) {
      const previous = this.unindexFlush;
      const flush = this.flushUnindex();
      this.unindexFlush = flush;
      await Promise.all([previous, flush]);
    } else {
      await this.unindexFlush;
    }
  }

  private async flushUnindex(): Promise<void> {
    const batches = [...this.unindexing];
    this.unindexing.clear();
    this.unindexBuffered = 0;
    const p = this.prefix;
    await Promise.all(
      batches.flatMap(([entityType, items]) => {
        const chunks: (typeof items)[] = [];
        for (let i = 0; i < items.length; i += UNINDEX_BATCH) chunks.push(items.slice(i, i + UNINDEX_BATCH));
        return chunks.map(async (chunk) => {
          try {
            if (isCluster(this.redis)) {
              await Promise.all(chunk.map((x) => this.unindexJob(entityType, x.entityId, x.jobId)));
            } else {
              const jobKeys = [keys.indexJobs(p, entityType), keys.indexTouched(p, entityType), ...chunk.map((x) => keys.indexJobSet(p, entityType, x.entityId))];
              await unindexJobBatchScript.run(this.redis, jobKeys, [...chunk.map((x) => x.entityId), ...chunk.map((x) => x.jobId)]);
            }
            for (const x of chunk) x.settle();
          } catch (err) {
            for (const x of chunk) x.settle(err ?? new Error('unindex failed'));
          }
        });
      }),
    );
  }

  /** Runs a script of ./index.lua.ts (KEYS: jobSet, countHash, touched. ARGV: jobId, entityId); its reply as a number. */
  private async runJobScript(script: LuaScript, entityType: string, entityId: string, jobId: string): Promise<number> {
    assertEntity(entityType, entityId);
    assertNonEmptyString('jobId', jobId);
    const p = this.prefix;
    const jobKeys = [keys.indexJobSet(p, entityType, entityId), keys.indexJobs(p, entityType), keys.indexTouched(p, entityType)];
    return Number(await script.run(this.redis, jobKeys, [jobId, entityId]));
  }

  /** `{ [entityId]: pendingCount }` for every entity of the type with at least one pending job. */
  async getEntitiesWithJobs(entityType: string): Promise<Record<string, number>> {
    assertEntityPart('entityType', entityType);
    await this.flushPendingUnindex();
    const raw = await this.redis.hgetall(keys.indexJobs(this.prefix, entityType));
    const out: Record<string, number> = {};
    for (const [id, n] of Object.entries(raw)) if (Number(n) > 0) out[id] = Number(n);
    return out;
  }

  /** Per entity type (same order): how many of its entities have at least one pending job (HLEN of the pending index). */
  async countEntitiesWithJobs(entityTypes: readonly string[]): Promise<number[]> {
    for (const t of entityTypes) assertEntityPart('entityType', t);
    await this.flushPendingUnindex();
    return Promise.all(entityTypes.map(async (t) => Number(await this.redis.hlen(keys.indexJobs(this.prefix, t)))));
  }

  /** Records the entity's queue; `queueName` defaults to the entity queue's name (`${entityType}-${entityId}-queue`). */
  async indexEntityQueue(entityType: string, entityId: string, queueName = entityQueueName(entityType, entityId)): Promise<void> {
    assertEntity(entityType, entityId);
    assertName('queueName', queueName);
    const p = this.prefix;
    await indexQueueScript.run(
      this.redis,
      [keys.indexQueues(p, entityType), keys.queueEntity(p), keys.indexTouched(p, entityType), keys.indexTypes(p)],
      [entityId, queueName, `${entityType}:${entityId}`, entityType],
    );
  }

  /** For each queue name, whether it is indexed as an entity's queue (by any process). */
  async queuesIndexed(queueNames: readonly string[]): Promise<boolean[]> {
    for (const name of queueNames) assertName('queueName', name);
    const out: boolean[] = [];
    for (let i = 0; i < queueNames.length; i += 1000) {
      const values = await this.redis.hmget(keys.queueEntity(this.prefix), ...queueNames.slice(i, i + 1000));
      for (const v of values) out.push(v !== null);
    }
    return out;
  }

  /** Entity types that have been indexed. */
  async getEntityTypes(): Promise<string[]> {
    return (await this.redis.smembers(keys.indexTypes(this.prefix))).sort();
  }

  /**
   * One page of the type's entities in order of last activity (oldest first), from rank `offset`, with the
   * server time read before the page. Reads only.
   */
  async sweepPage(entityType: string, offset: number, limit: number, jobsPerEntity: number): Promise<{ now: number; entities: SweepEntity[] }> {
    assertEntityPart('entityType', entityType);
    const p = this.prefix;
    const [now, ...rows] = await sweepPageScript.run<[number, ...[string, string, string, string, string[]][]]>(
      this.redis,
      [keys.indexTouched(p, entityType), keys.indexJobs(p, entityType), keys.indexQueues(p, entityType)],
      [offset, limit, jobsPerEntity, p, entityType],
    );
    const entities = rows.map(([entityId, last, pending, queueName, flat]) => {
      const jobs: SweepEntity['jobs'] = [];
      for (let i = 0; i < flat.length; i += 2) jobs.push({ jobId: flat[i], indexedAt: Number(flat[i + 1]) });
      return { entityId, lastActivity: Number(last), pending: Number(pending), queueName: queueName || undefined, jobs };
    });
    return { now: Number(now), entities };
  }

  /** Removes the given jobs of the entity from the index (each once). Returns how many were indexed. */
  async unindexJobs(entityType: string, entityId: string, jobIds: readonly string[]): Promise<number> {
    assertEntity(entityType, entityId);
    for (const id of jobIds) assertNonEmptyString('jobId', id);
    if (jobIds.length === 0) return 0;
    const p = this.prefix;
    return Number(await unindexJobsScript.run(this.redis, [keys.indexJobSet(p, entityType, entityId), keys.indexJobs(p, entityType)], [entityId, ...jobIds]));
  }

  /**
   * Retires the entity if it is idle (see retireEntityScript): no indexed job, no activity for `retentionMs`, none
   * of `workers` alive, and, when `queueBaseKey` is given (the queue's BullMQ keys live in this Redis), a queue with
   * no unfinished job, whose keys are then deleted in the same step. Returns 'more' while kept finished jobs
   * remain beyond `finishedLimit` (call again).
   */
  async retireEntity(
    entityType: string,
    entityId: string,
    queueName: string,
    options: { retentionMs: number; workerNames: readonly string[]; queueBaseKey?: string; finishedLimit?: number },
  ): Promise<RetireOutcome> {
    assertEntity(entityType, entityId);
    assertName('queueName', queueName);
    const p = this.prefix;
    const heartbeats = options.workerNames.map((w) => keys.heartbeat(p, w));
    const fields = options.workerNames.map((w) => `${entityId}:${w}`);
    return String(
      await retireEntityScript.run(
        this.redis,
        [
          keys.indexJobSet(p, entityType, entityId), keys.indexJobs(p, entityType), keys.indexTouched(p, entityType), keys.indexQueues(p, entityType),
          keys.queueEntity(p), keys.indexWorkers(p, entityType), keys.attempts(p, queueName), keys.ready(p, entityType), ...heartbeats,
        ],
        [entityId, queueName, options.retentionMs, options.queueBaseKey ?? '', options.finishedLimit ?? 1000, `${entityType}:${entityId}`, ...fields],
      ),
    ) as RetireOutcome;
  }

  /**
   * The entity a queue was indexed for (by any process), or undefined. A queue of a retired entity (see
   * IndexSweeperService) is no longer indexed: its conventional name `${entityType}-${entityId}-queue` is then
   * recognised when exactly one indexed entity type fits it, so adding to it by name sets it up again.
   */
  async getQueueEntity(queueName: string): Promise<{ entityType: string; entityId: string } | undefined> {
    assertName('queueName', queueName);
    const v = await this.redis.hget(keys.queueEntity(this.prefix), queueName);
    if (!v) return this.entityOfConventionalName(queueName);
    const colon = v.indexOf(':');
    return { entityType: v.slice(0, colon), entityId: v.slice(colon + 1) };
  }

  private async entityOfConventionalName(queueName: string): Promise<{ entityType: string; entityId: string } | undefined> {
    if (!queueName.endsWith('-queue')) return undefined;
    const fits = (await this.getEntityTypes())
      .map((entityType) => ({ entityType, entityId: queueName.slice(entityType.length + 1, -'-queue'.length) }))
      .filter((e) => queueName.startsWith(`${e.entityType}-`) && isEntityPart(e.entityId) && entityQueueName(e.entityType, e.entityId) === queueName);
    return fits.length === 1 ? fits[0] : undefined;
  }

  /** `{ [entityId]: queueName }` of the type. */
  async getEntityQueues(entityType: string): Promise<Record<string, string>> {
    assertEntityPart('entityType', entityType);
    return this.redis.hgetall(keys.indexQueues(this.prefix, entityType));
  }

  async setWorkerState(entityType: string, entityId: string, workerName: string, state: WorkerState, nodeId = this.config.nodeId): Promise<void> {
    assertEntity(entityType, entityId);
    assertName('workerName', workerName);
    if (!WORKER_STATES.includes(state)) {
      throw new AtomicQueuesValidationError('state', `must be one of ${WORKER_STATES.join(', ')}`, state);
    }
    await this.redis.hset(keys.indexWorkers(this.prefix, entityType), `${entityId}:${workerName}`, `${state}|${nodeId}|${this.clock.now()}`);
  }

  async removeWorkerState(entityType: string, entityId: string, workerName: string): Promise<void> {
    assertEntity(entityType, entityId);
    await this.redis.hdel(keys.indexWorkers(this.prefix, entityType), `${entityId}:${workerName}`);
  }

  /** Worker states of one entity, or of every entity of the type when entityId is omitted. */
  async getEntityWorkerStates(entityType: string, entityId?: string): Promise<EntityWorkerState[]> {
    assertEntity(entityType, entityId ?? '_');
    const raw = await this.redis.hgetall(keys.indexWorkers(this.prefix, entityType));
    const out: EntityWorkerState[] = [];
    for (const [field, value] of Object.entries(raw)) {
      const colon = field.indexOf(':');
      const id = field.slice(0, colon);
      if (entityId !== undefined && id !== entityId) continue;
      const [state, nodeId, at] = value.split('|');
      out.push({ entityId: id, workerName: field.slice(colon + 1), state: state as WorkerState, nodeId: nodeId ?? '', updatedAt: Number(at) });
    }
    const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
    return out.sort((a, b) => cmp(a.entityId, b.entityId) || cmp(a.workerName, b.workerName));
  }

  /** Removes every index entry of the entity (pending jobs, queue, worker states). */
  async cleanupEntityIndices(entityType: string, entityId: string): Promise<void> {
    assertEntity(entityType, entityId);
    const workersKey = keys.indexWorkers(this.prefix, entityType);
    const fields = (await this.redis.hkeys(workersKey)).filter((f) => f.startsWith(`${entityId}:`));
    const queueName = await this.redis.hget(keys.indexQueues(this.prefix, entityType), entityId);
    const multi = this.redis
      .multi()
      .del(keys.indexJobSet(this.prefix, entityType, entityId))
      .hdel(keys.indexJobs(this.prefix, entityType), entityId)
      .hdel(keys.indexQueues(this.prefix, entityType), entityId)
      .zrem(keys.indexTouched(this.prefix, entityType), entityId);
    if (fields.length > 0) multi.hdel(workersKey, ...fields);
    if (queueName) multi.hdel(keys.queueEntity(this.prefix), queueName);
    await multi.exec();
  }
}

function isEntityPart(value: string): boolean {
  try {
    assertEntityPart('entityId', value);
    return true;
  } catch {
    return false;
  }
}
