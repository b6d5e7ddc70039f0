import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { ATOMIC_QUEUES_CONFIG, resolveJobOptions, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { entityQueueName } from '../config/keys.js';
import { AtomicQueuesConfigError, AtomicQueuesValidationError } from '../errors.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER, type QueueDriver } from '../ports/queue-driver.js';
import { assertEntity, assertJsonSerializable, assertName, assertNonEmptyString } from '../validation.js';

/** Options of `addJob`: BullMQ job options (module `queueDefaults.defaultJobOptions` apply underneath). */
export type AddJobOptions = JobsOptions;

export interface AddedJob {
  id: string;
  name: string;
  queueName: string;
}

export type JobCounts = Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'prioritized', number>;

interface EntityRef {
  entityType: string;
  entityId: string;
}

/**
 * Creates and caches BullMQ queues. Entity queues (`${entityType}-${entityId}-queue`) get a global concurrency
 * stored in Redis (`workerDefaults.concurrency`, default 1): one active job per entity across every worker and
 * node. Concurrency above 1 gives up per-entity ordering.
 */
@Injectable()
export class QueueManagerService {
  private readonly logger = new Logger('AtomicQueues:QueueManager');
  private readonly queues = new Map<string, Queue>();
  private readonly entityOf = new Map<string, EntityRef>();
  private readonly pending = new Map<string, Promise<Queue>>();

  constructor(
    @Inject(ATOMIC_QUEUES_QUEUE_DRIVER) private readonly driver: QueueDriver,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    private readonly index: IndexManagerService,
  ) {}

  /** The entity's queue, created (global concurrency set, queue indexed) on first use and cached per name. */
  async getOrCreateEntityQueue(entityType: string, entityId: string): Promise<Queue> {
    assertEntity(entityType, entityId);
    const name = entityQueueName(entityType, entityId);
    const cached = this.queues.get(name);
    if (cached && this.entityOf.has(name)) return cached;
    let creating = this.pending.get(name);
    if (!creating) {
      creating = (async () => {
        // Reuse an object opened before as a plain queue; it becomes an entity queue now.
        const queue = cached ?? this.driver.createQueue(name, { prefix: this.config.keyPrefix });
        try {
          await this.setUpEntityQueue(queue, { entityType, entityId });
        } catch (err) {
          if (!cached) await queue.close().catch(() => undefined);
          throw err;
        }
        this.queues.set(name, queue);
        this.entityOf.set(name, { entityType, entityId });
        return queue;
      })().finally(() => this.pending.delete(name));
      this.pending.set(name, creating);
    }
    return creating;
  }

  /** Global concurrency of the entity queue, and its index entries. */
  private async setUpEntityQueue(queue: Queue, entity: EntityRef): Promise<void> {
    await queue.setGlobalConcurrency(this.config.workerDefaults.concurrency);
    await this.index.indexEntityQueue(entity.entityType, entity.entityId, queue.name);
  }

  /** A plain (non-entity) queue by name, cached. No global concurrency is set. */
  getOrCreateQueue(queueName: string): Queue {
    assertName('queueName', queueName);
    let queue = this.queues.get(queueName);
    if (!queue) {
      queue = this.driver.createQueue(queueName, { prefix: this.config.keyPrefix });
      this.queues.set(queueName, queue);
    }
    return queue;
  }

  /**
   * Entity of a queue: known locally, else from the Redis reverse index (any process created it). Cached; a
   * queue this process opened with getOrCreateQueue counts as plain.
   */
  async getQueueEntity(queueName: string): Promise<EntityRef | undefined> {
    assertName('queueName', queueName);
    const local = this.entityOf.get(queueName);
    if (local) return local;
    // A queue this process opened as plain stays plain (saves a round trip per add).
    if (this.queues.has(queueName)) return undefined;
    const found = await this.index.getQueueEntity(queueName);
    if (found) this.entityOf.set(queueName, found);
    return found;
  }

  /**
   * Adds a job. Entity queues (created by getOrCreateEntityQueue in any process) are recognised by name and
   * their jobs indexed (pending count) before they become visible to workers; other names are plain queues.
   * Module job defaults apply under `opts`.
   */
  async addJob<T = unknown>(queueName: string, jobName: string, data: T, opts: AddJobOptions = {}): Promise<AddedJob> {
    assertName('queueName', queueName);
    assertJob(jobName, data);
    return this.enqueue(queueName, jobName, data, opts);
  }

  /** Shortcut: getOrCreateEntityQueue + addJob. */
  async addEntityJob<T = unknown>(entityType: string, entityId: string, jobName: string, data: T, opts?: AddJobOptions): Promise<AddedJob> {
    assertEntity(entityType, entityId);
    assertJob(jobName, data);
    const queue = await this.getOrCreateEntityQueue(entityType, entityId);
    return this.enqueue(queue.name, jobName, data, opts);
  }

  /** addJob after its argument checks (job name and data are checked once, by the caller). */
  private async enqueue<T>(queueName: string, jobName: string, data: T, opts: AddJobOptions | undefined): Promise<AddedJob> {
    const { attempts, backoff, priority, removeOnComplete, removeOnFail, ...rest } = opts ?? {};
    const checked = asValidationError(() => resolveJobOptions('opts', { attempts, backoff, priority, removeOnComplete, removeOnFail }));
    if (rest.jobId !== undefined) assertName('opts.jobId', rest.jobId);
    const options: JobsOptions = { ...this.config.queueDefaults.defaultJobOptions, ...rest, ...checked };
    const { queue, entity } = await this.openQueue(queueName);
    if (!entity) {
      const job = await queue.add(jobName, data, options);
      return { id: String(job.id), name: jobName, queueName };
    }
    // Index first (with our own id) so a job can never finish before it is counted.
    const jobId = options.jobId ?? randomUUID();
    const indexed = await this.index.indexEntityJob(entity.entityType, entity.entityId, jobId);
    let job: Job;
    try {
      // Retired by the index sweeper (its queue keys are gone): set the queue up again first. Our job is indexed,
      // so the entity cannot be retired again before it is added. (A sweep closing this cached object meanwhile
      // does not stop it: the object's connection is the driver's, shared.)
      if (!indexed.queueIndexed) await this.setUpEntityQueue(queue, entity);
      job = await queue.add(jobName, data, { ...options, jobId });
    } catch (err) {
      await this.index.unindexJob(entity.entityType, entity.entityId, jobId).catch(() => undefined);
      throw err;
    }
    await this.index.confirmIndexed(indexed).catch((err) => this.logger.warn(`re-indexing slow add ${jobId} of ${queueName} failed: ${String(err)}`));
    return { id: String(job.id), name: jobName, queueName };
  }

  async getJobCounts(queueName: string): Promise<JobCounts> {
    assertName('queueName', queueName);
    const { queue } = await this.openQueue(queueName);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      prioritized: counts.prioritized ?? 0,
    };
  }

  /** The cached queue object for a name, opened as an entity queue when the name belongs to an entity. */
  private async openQueue(queueName: string): Promise<{ queue: Queue; entity?: EntityRef }> {
    const entity = await this.getQueueEntity(queueName);
    const queue = entity ? await this.getOrCreateEntityQueue(entity.entityType, entity.entityId) : this.getOrCreateQueue(queueName);
    return { queue, entity };
  }

  /** Closes and forgets the queue object of this process (its jobs stay in Redis). No-op for unknown names. */
  async closeQueue(queueName: string): Promise<void> {
    assertName('queueName', queueName);
    const queue = this.queues.get(queueName);
    this.queues.delete(queueName);
    this.entityOf.delete(queueName);
    await queue?.close();
  }

  /** Closes every queue object this process opened. */
  async closeAll(): Promise<void> {
    const names = [...this.queues.keys()];
    const results = await Promise.allSettled(names.map((n) => this.closeQueue(n)));
    for (const r of results) if (r.status === 'rejected') this.logger.warn(`closing a queue failed: ${String(r.reason)}`);
  }

  /** Names of the queues this process has open. */
  openQueueNames(): string[] {
    return [...this.queues.keys()];
  }
}

function assertJob(jobName: unknown, data: unknown): void {
  assertNonEmptyString('jobName', jobName);
  assertJsonSerializable('data', data);
}

/** Per-call options share the config rules; report them as argument errors. */
function asValidationError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AtomicQueuesConfigError) throw new AtomicQueuesValidationError(err.path, err.rule, err.value);
    throw err;
  }
}
