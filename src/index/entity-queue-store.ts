import { Inject, Injectable } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { keys } from '../config/keys.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import type { RetireOutcome } from './index-manager.service.js';
import { jobPresenceScript } from './index.lua.js';

/** Where an indexed job id stands in its BullMQ queue. */
export type JobPresence = 'missing' | 'finished' | 'unfinished';

/**
 * What the index sweeper needs to know about (and do to) the BullMQ data of an entity queue. Production reads
 * BullMQ's keys in the module's Redis (RedisEntityQueueStore); the testing module reads its in-memory store.
 */
export interface EntityQueueStore {
  /** Per job id: no such job, finished (completed or failed, kept), or not finished (waiting, active, delayed…). */
  jobPresence(queueName: string, jobIds: readonly string[]): Promise<JobPresence[]>;
  /**
   * Retires the entity's queue. `retireIndex(queueBaseKey?)` runs the index's atomic retirement
   * (IndexManagerService.retireEntity); a store whose queue keys live in that Redis passes the queue's base key,
   * so the emptiness check and the deletion of the queue keys happen inside that same script.
   */
  retire(queueName: string, retireIndex: (queueBaseKey?: string) => Promise<RetireOutcome>): Promise<RetireOutcome>;
}

export const ATOMIC_QUEUES_ENTITY_QUEUE_STORE = Symbol.for('@nestjs/atomic-queues:entity-queue-store');

const PRESENCE: readonly JobPresence[] = ['missing', 'finished', 'unfinished'];

/**
 * BullMQ on the module's Redis: a job is `${prefix}:${queue}:${jobId}` (a hash with `finishedOn` once completed or
 * failed; deleted by removeOnComplete/removeOnFail). Needs the queues on the same Redis as the module's command
 * connection (always the case: both come from `config.redis`). On a Cluster, the keyPrefix needs a hash tag.
 */
@Injectable()
export class RedisEntityQueueStore implements EntityQueueStore {
  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
  ) {}

  async jobPresence(queueName: string, jobIds: readonly string[]): Promise<JobPresence[]> {
    if (jobIds.length === 0) return [];
    const base = keys.queueBase(this.config.keyPrefix, queueName);
    const reply = await jobPresenceScript.run<number[]>(this.redis, jobIds.map((id) => base + id));
    return reply.map((n) => PRESENCE[Number(n)]);
  }

  retire(queueName: string, retireIndex: (queueBaseKey?: string) => Promise<RetireOutcome>): Promise<RetireOutcome> {
    return retireIndex(keys.queueBase(this.config.keyPrefix, queueName));
  }
}
