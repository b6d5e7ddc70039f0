import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Job, JobsOptions, Queue } from 'bullmq';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { assertEntityJobOptions, resolveAddJobOptions } from '../config/job-options.js';
import { entityQueueName } from '../config/keys.js';
import { AtomicQueuesConfigError, AtomicQueuesValidationError } from '../errors.js';
import { RedisConnectionWatch } from '../drivers/redis-watch.js';
import { EngineSignals } from '../engine/engine-signals.service.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER, type QueueDriver } from '../ports/queue-driver.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER, type AtomicQueuesObserver } from '../telemetry/observer.js';
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
  /** Entity queues whose setup (global concurrency, index entry) is complete. */
  private readonly ready = new Set<string>();
  /** Entity queue setups in progress; a failed one is forgotten, so the next call runs it again. */
  private readonly setups = new Map<string, Promise<void>>();

  constructor(
    @Inject(ATOMIC_QUEUES_QUEUE_DRIVER) private readonly driver: QueueDriver,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    private readonly index: IndexManagerService,
    private readonly signals: EngineSignals,
    /** Bounds calls made while Redis is unreachable (absent in-memory: nothing to wait for). */
    @Optional() @Inject(RedisConnectionWatch) private readonly connection?: RedisConnectionWatch,
    /** Telemetry: each add runs as an enqueue span whose context travels with the job. */
    @Optional() @Inject(ATOMIC_QUEUES_OBSERVER) private readonly observer: AtomicQueuesObserver = NOOP_OBSERVER,
  ) {
    // A Redis that restarted without persistence lost the queues' global concurrency and index entries: the
    // next add of each entity queue runs its setup again (idempotent, one round trip).
    connection?.onReconnected(() => this.ready.clear());
  }

  /**
   * The entity's queue, cached per name, returned at once (no `await` needed; awaiting it works too: a Queue is
   * not a thenable). Its setup (global concurrency in Redis, index entry) starts on first use and is complete
   * before any job added through this service (addJob / addEntityJob) becomes visible to a worker; a failed
   * setup fails that add and is run again by the next call. Add jobs through this service, not `queue.add`.
   * Invalid entity types/ids throw AtomicQueuesValidationError synchronously, before anything is written.
   */
  getOrCreateEntityQueue(entityType: string, entityId: string): Queue {
    assertEntity(entityType, entityId);
    const name = entityQueueName(entityType, entityId);
    // Reuse an object opened before as a plain queue; it becomes an entity queue now.
    let queue = this.queues.get(name);
    if (!queue) {
      queue = this.driver.createQueue(name, this.queueOptions());
      this.queues.set(name, queue);
    }
    if (!this.entityOf.has(name)) this.entityOf.set(name, { entityType, entityId });
    // Not awaited here: a failure surfaces on the next add, which runs the setup again.
    if (!this.ready.has(name)) this.setUpEntityQueue(name, queue).catch(() => undefined);
    return queue;
  }

  /** Completes (once) the setup of an entity queue opened by getOrCreateEntityQueue. */
  private setUpEntityQueue(name: string, queue: Queue): Promise<void> {
    if (this.ready.has(name)) return Promise.resolve();
    const running = this.setups.get(name);
    if (running) return running;
    const entity = this.entityOf.get(name)!;
    const setup = (async () => {
      await queue.setGlobalConcurrency(this.config.workerDefaults.concurrency);
      await this.index.indexEntityQueue(entity.entityType, entity.entityId, name);
      if (this.queues.get(name) === queue) this.ready.add(name);
    })().finally(() => {
      if (this.setups.get(name) === setup) this.setups.delete(name);
    });
    this.setups.set(name, setup);
    return setup;
  }

  /** Options of every queue this service opens: the key prefix and the trimmed event stream. */
  private queueOptions(): { prefix: string; streams: { events: { maxLen: number } } } {
    return { prefix: this.config.keyPrefix, streams: { events: { maxLen: this.config.queueDefaults.eventsMaxLen } } };
  }

  /** A plain (non-entity) queue by name, cached. No global concurrency is set. */
  getOrCreateQueue(queueName: string): Queue {
    assertName('queueName', queueName);
    let queue = this.queues.get(queueName);
    if (!queue) {
      queue = this.driver.createQueue(queueName, this.queueOptions());
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
   * Adds a job. Entity queues (created by getOrCreateEntityQueue in any process) are recognised by name, set up
   * and their jobs indexed (pending count) before they become visible to workers; other names are plain queues.
   * Module job defaults apply under `opts`. Options, data size (`maxJobDataBytes`) and names are checked before
   * anything is written (AtomicQueuesValidationError); with Redis unreachable the call fails with
   * AtomicQueuesConnectionError after `redis.commandTimeoutMs`.
   */
  async addJob<T = unknown>(queueName: string, jobName: string, data: T, opts: AddJobOptions = {}): Promise<AddedJob> {
    assertName('queueName', queueName);
    this.assertJob(jobName, data);
    const options = checkJobOptions(opts);
    return this.guard(`adding job '${jobName}' to ${queueName}`, () => this.enqueue(queueName, jobName, data, options));
  }

  /** Shortcut: getOrCreateEntityQueue + addJob. */
  async addEntityJob<T = unknown>(entityType: string, entityId: string, jobName: string, data: T, opts?: AddJobOptions): Promise<AddedJob> {
    assertEntity(entityType, entityId);
    this.assertJob(jobName, data);
    const options = checkJobOptions(opts);
    this.assertEntityJobOptions(options);
    const queue = this.getOrCreateEntityQueue(entityType, entityId);
    return this.guard(`adding job '${jobName}' to ${queue.name}`, () => this.enqueue(queue.name, jobName, data, options));
  }

  /** addJob after its argument checks (job name, data and options are checked once, by the caller). */
  private async enqueue<T>(queueName: string, jobName: string, data: T, opts: JobsOptions): Promise<AddedJob> {
    const entity = await this.getQueueEntity(queueName);
    if (entity) this.assertEntityJobOptions(opts);
    // The caller's own opts.telemetry (a trace context of theirs) wins over the observer's.
    return this.observer.enqueue({ queueName, jobName, entity }, (carrier) =>
      this.add(queueName, jobName, data, { ...this.config.queueDefaults.defaultJobOptions, ...carrier, ...opts }, entity),
    );
  }

  private async add<T>(queueName: string, jobName: string, data: T, options: JobsOptions, entity: EntityRef | undefined): Promise<AddedJob> {
    if (!entity) {
      const job = await this.getOrCreateQueue(queueName).add(jobName, data, options);
      return { id: String(job.id), name: jobName, queueName };
    }
    let queue = await this.openEntityQueue(entity);
    // Index first (with our own id) so a job can never finish before it is counted.
    const jobId = options.jobId ?? randomUUID();
    const indexed = await this.index.indexEntityJob(entity.entityType, entity.entityId, jobId);
    let job: Job;
    try {
      // Retired by the index sweeper (its queue keys are gone): set the queue up again first. Our job is indexed,
      // so the entity cannot be retired again before it is added. (A sweep closing this cached object meanwhile
      // does not stop it: the object's connection is the driver's, shared.)
      if (!indexed.queueIndexed) {
        this.ready.delete(queue.name);
        // The sweep may have dropped this process' cached object (closeQueue): open it again as an entity queue.
        queue = this.getOrCreateEntityQueue(entity.entityType, entity.entityId);
        await this.setUpEntityQueue(queue.name, queue);
      }
      job = await queue.add(jobName, data, { ...options, jobId });
    } catch (err) {
      await this.index.unindexJob(entity.entityType, entity.entityId, jobId).catch(() => undefined);
      throw err;
    }
    await this.index.confirmIndexed(indexed).catch((err) => this.logger.warn(`re-indexing slow add ${jobId} of ${queueName} failed: ${String(err)}`));
    // Wake the entity's worker where it runs, or mark the entity ready so a node with room takes it now.
    await this.signals.jobAdded(entity, queueName, typeof options.delay === 'number' ? options.delay : 0);
    return { id: String(job.id), name: jobName, queueName };
  }

  /**
   * When the queue next has a job to run: 0 when one is waiting, prioritized or active (now), else the run time
   * (ms) of its earliest delayed job, else undefined (nothing left). The engine's one rule for "work is left".
   */
  async nextWorkAt(queueName: string): Promise<number | undefined> {
    const counts = await this.getJobCounts(queueName);
    if (counts.waiting + counts.prioritized + counts.active > 0) return 0;
    if (counts.delayed === 0) return undefined;
    const [first] = await (await this.queueFor(queueName)).getJobs(['delayed'], 0, 0, true);
    return first ? first.timestamp + (first.delay ?? first.opts.delay ?? 0) : 0;
  }

  /** The entity's queue with its setup complete. */
  private async openEntityQueue(entity: EntityRef): Promise<Queue> {
    const queue = this.getOrCreateEntityQueue(entity.entityType, entity.entityId);
    await this.setUpEntityQueue(queue.name, queue);
    return queue;
  }

  private assertJob(jobName: unknown, data: unknown): void {
    assertNonEmptyString('jobName', jobName);
    assertJsonSerializable('data', data);
    const bytes = Buffer.byteLength(JSON.stringify(data), 'utf8');
    if (bytes > this.config.maxJobDataBytes) {
      throw new AtomicQueuesValidationError(
        'data',
        `must be at most ${this.config.maxJobDataBytes} bytes as JSON (maxJobDataBytes), has ${bytes}; keep large payloads elsewhere and pass a reference`,
        data,
      );
    }
  }

  private assertEntityJobOptions(options: JobsOptions): void {
    asValidationError(() => assertEntityJobOptions('opts', options, this.config.queueDefaults.defaultJobOptions));
  }

  /** The cached queue object of a name: its entity queue (setup complete) when the name belongs to an entity. */
  private async queueFor(queueName: string): Promise<Queue> {
    const entity = await this.getQueueEntity(queueName);
    return entity ? this.openEntityQueue(entity) : this.getOrCreateQueue(queueName);
  }

  /** Bounds a call while Redis is unreachable (redis.commandTimeoutMs), when the module watches the connection. */
  private guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    return this.connection ? this.connection.guard(what, op) : op();
  }

  async getJobCounts(queueName: string): Promise<JobCounts> {
    assertName('queueName', queueName);
    const counts = await this.guard(`counting the jobs of ${queueName}`, async () => {
      const queue = await this.queueFor(queueName);
      return queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    });
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      prioritized: counts.prioritized ?? 0,
    };
  }

  /** Closes and forgets the queue object of this process (its jobs stay in Redis). No-op for unknown names. */
  async closeQueue(queueName: string): Promise<void> {
    assertName('queueName', queueName);
    const queue = this.queues.get(queueName);
    this.queues.delete(queueName);
    this.entityOf.delete(queueName);
    this.ready.delete(queueName);
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

/** Per-call option rules (any queue); AtomicQueuesValidationError naming the option. */
function checkJobOptions(opts: unknown): JobsOptions {
  const options = asValidationError(() => resolveAddJobOptions('opts', opts));
  if (options.jobId !== undefined) assertName('opts.jobId', options.jobId);
  return options;
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
