import { Inject, Injectable } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { entityQueueName, keys } from '../config/keys.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { AtomicQueuesValidationError } from '../errors.js';
import { assertEntity, assertEntityPart, assertName, assertNonEmptyString } from '../validation.js';
import type { LuaScript } from '../redis/lua-script.js';
import { indexJobScript, unindexJobScript } from './index.lua.js';

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

/**
 * Redis indices of entities: pending jobs per entity (`${keyPrefix}:idx:${type}:jobs` HASH entityId → count, with
 * a SET of job ids per entity so each job is counted and discounted exactly once), the entity's queue
 * (`…:queues` HASH entityId → queueName) and worker states (`…:workers` HASH `${entityId}:${workerName}` →
 * `state|nodeId|updatedAt`), plus `${keyPrefix}:queue-entity` (HASH queueName → `${entityType}:${entityId}`) so any
 * process can tell which entity a queue serves.
 */
@Injectable()
export class IndexManagerService {
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
    return this.runJobScript(indexJobScript, entityType, entityId, jobId);
  }

  /**
   * Marks a job as finished for good (completed, or failed with no retry left). Decrements the entity's count
   * exactly once per job id, however often it is reported. Returns true if this call removed it.
   */
  async unindexJob(entityType: string, entityId: string, jobId: string): Promise<boolean> {
    return (await this.runJobScript(unindexJobScript, entityType, entityId, jobId)) === 1;
  }

  /** Runs a script of ./index.lua.ts (KEYS: jobSet, countHash. ARGV: jobId, entityId); its reply as a number. */
  private async runJobScript(script: LuaScript, entityType: string, entityId: string, jobId: string): Promise<number> {
    assertEntity(entityType, entityId);
    assertNonEmptyString('jobId', jobId);
    const prefix = this.prefix;
    return Number(await script.run(this.redis, [keys.indexJobSet(prefix, entityType, entityId), keys.indexJobs(prefix, entityType)], [jobId, entityId]));
  }

  /** `{ [entityId]: pendingCount }` for every entity of the type with at least one pending job. */
  async getEntitiesWithJobs(entityType: string): Promise<Record<string, number>> {
    assertEntityPart('entityType', entityType);
    const raw = await this.redis.hgetall(keys.indexJobs(this.prefix, entityType));
    const out: Record<string, number> = {};
    for (const [id, n] of Object.entries(raw)) if (Number(n) > 0) out[id] = Number(n);
    return out;
  }

  /** Records the entity's queue; `queueName` defaults to the entity queue's name (`${entityType}-${entityId}-queue`). */
  async indexEntityQueue(entityType: string, entityId: string, queueName = entityQueueName(entityType, entityId)): Promise<void> {
    assertEntity(entityType, entityId);
    assertName('queueName', queueName);
    await this.redis
      .multi()
      .hset(keys.indexQueues(this.prefix, entityType), entityId, queueName)
      .hset(keys.queueEntity(this.prefix), queueName, `${entityType}:${entityId}`)
      .exec();
  }

  /** The entity a queue was indexed for (by any process), or undefined. */
  async getQueueEntity(queueName: string): Promise<{ entityType: string; entityId: string } | undefined> {
    assertName('queueName', queueName);
    const v = await this.redis.hget(keys.queueEntity(this.prefix), queueName);
    if (!v) return undefined;
    const colon = v.indexOf(':');
    return { entityType: v.slice(0, colon), entityId: v.slice(colon + 1) };
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
      .hdel(keys.indexQueues(this.prefix, entityType), entityId);
    if (fields.length > 0) multi.hdel(workersKey, ...fields);
    if (queueName) multi.hdel(keys.queueEntity(this.prefix), queueName);
    await multi.exec();
  }
}
