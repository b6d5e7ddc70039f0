import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Job, Worker } from 'bullmq';
import {
  ATOMIC_QUEUES_CONFIG,
  resolveWorkerDefaults,
  type ResolvedAtomicQueuesConfig,
  type WorkerDefaultsConfig,
} from '../config/atomic-queues-config.js';
import { isCluster } from '../drivers/redis-client.js';
import { AtomicQueuesValidationError } from '../errors.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER, type QueueDriver } from '../ports/queue-driver.js';
import { ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_HEARTBEAT, ATOMIC_QUEUES_REDIS_SUBSCRIBER, type RedisClient } from '../ports/redis.js';
import { QueueManagerService } from '../queues/queue-manager.service.js';
import { JobProcessorRegistry } from '../registry/job-processor.registry.js';
import { EngineSignals, type LocalEntityWorker } from '../engine/engine-signals.service.js';
import { JobWaiter } from '../engine/job-waiter.js';
import { EntityLeases } from '../engine/leases.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER, type AtomicQueuesObserver } from '../telemetry/observer.js';
import { argumentRules, assertEntity, assertName } from '../validation.js';
import { createBullWorker, severBullWorker, wireBullWorker } from './bullmq-worker.js';
import { CloseSignals } from './close-signals.js';
import { settlesWithin } from '../timing/settles-within.js';
import { safely } from './guards.js';
import { InPlaceRetries } from './in-place-retries.js';
import { JobLifecycleObservers } from './job-lifecycle.js';
import { NodeHeartbeat, type HeartbeatMember } from './node-heartbeat.js';
import { NodeStallChecks, nodeCanScheduleStallChecks, type StallCheckTarget } from './stall-checks.js';
import type {
  CreateWorkerOptions,
  CreateWorkerResult,
  EntityWorkerInfo,
  JobLifecycleListener,
  WorkerCloseReason,
  WorkerEvents,
} from './worker.types.js';
import { heartbeatOwner, WorkerNames } from './worker-names.js';

interface ManagedWorker extends HeartbeatMember, StallCheckTarget {
  name: string;
  queueName: string;
  entity?: { entityType: string; entityId: string };
  /** Heartbeat value `${nodeId}|${token}`: only this exact value may refresh or delete the key. */
  owner: string;
  settings: Required<WorkerDefaultsConfig>;
  events: WorkerEvents;
  worker: Worker;
  lastRefresh: number;
  closing?: Promise<void>;
  /** Force-closed: its in-flight job belongs to whoever recovers it as stalled; stop retrying it here. */
  forced?: boolean;
  /** The node-side "blocking connection" of the worker (wake-ups, idle release). */
  waiter: JobWaiter;
  /** Registered with the engine (entity workers only). */
  local?: LocalEntityWorker;
  /** An idle release is deciding: the heartbeat may be briefly dropped; refresh results are not a loss. */
  releasing?: boolean;
}

/** createWorker's options once checked: the entity resolved, and whether the engine spawned it (managed slot). */
type ClaimRequest = CreateWorkerOptions & { managedSpawn: boolean };

/**
 * One live BullMQ worker per name across every node: claimed with `SET NX PX` on the heartbeat key, refreshed
 * by its owner only, released on close. A worker whose heartbeat is lost closes itself. A publish on
 * `${keyPrefix}:worker:${workerName}:shutdown` closes it wherever it runs, after its current job.
 *
 * Per-node costs stay flat in the number of workers: one Clock interval refreshes every local heartbeat in one
 * round trip (NodeHeartbeat), and on a single Redis the node runs BullMQ's stalled checks only for queues that
 * may hold a job to recover (NodeStallChecks) instead of one timer and script per worker and second.
 *
 * The service runs a worker's life: claim, start, serve, release or close. Each other job has its unit: name
 * claims and liveness (WorkerNames), close signals (CloseSignals), in-place retries (InPlaceRetries), job
 * lifecycle observers (JobLifecycleObservers), entity leases and orphan recovery (EntityLeases, engine/).
 */
@Injectable()
export class WorkerManagerService {
  private readonly logger = new Logger('AtomicQueues:WorkerManager');
  private readonly workers = new Map<string, ManagedWorker>();
  private readonly claiming = new Map<string, Promise<CreateWorkerResult>>();
  private shuttingDown = false;
  private readonly heartbeats: NodeHeartbeat<ManagedWorker>;
  private readonly stallChecks: NodeStallChecks<ManagedWorker>;
  /** BullMQ workers skip their own stalled-check timer; the node schedules the checks (single Redis only). */
  private readonly nodeRunsStallChecks: boolean;
  private readonly names: WorkerNames;
  private readonly closeSignals: CloseSignals;
  private readonly observers: JobLifecycleObservers;
  private readonly retries: InPlaceRetries;
  private readonly leases: EntityLeases;

  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_REDIS_SUBSCRIBER) private readonly subscriber: RedisClient,
    @Inject(ATOMIC_QUEUES_QUEUE_DRIVER) private readonly driver: QueueDriver,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
    private readonly index: IndexManagerService,
    private readonly queues: QueueManagerService,
    private readonly registry: JobProcessorRegistry,
    private readonly signals: EngineSignals,
    /** Dedicated connection for heartbeat refreshes; defaults to the command connection. */
    @Optional() @Inject(ATOMIC_QUEUES_REDIS_HEARTBEAT) heartbeatRedis?: RedisClient,
    /** Telemetry: each attempt runs inside its span (InPlaceRetries); heartbeat losses are counted. */
    @Optional() @Inject(ATOMIC_QUEUES_OBSERVER) private readonly observer: AtomicQueuesObserver = NOOP_OBSERVER,
  ) {
    this.names = new WorkerNames(redis, config.keyPrefix);
    this.closeSignals = new CloseSignals(redis, subscriber, config.keyPrefix, this.logger, (name) => void this.closeWorker(name, 'signal'));
    this.observers = new JobLifecycleObservers(config.nodeId, clock, this.logger);
    this.retries = new InPlaceRetries(redis, config.keyPrefix, clock, this.observers, this.logger, observer, config.nodeId);
    this.leases = new EntityLeases(redis, config.keyPrefix, clock);
    this.nodeRunsStallChecks = driver.kind === 'redis' && !isCluster(redis) && nodeCanScheduleStallChecks();
    this.stallChecks = new NodeStallChecks(clock, this.logger);
    this.heartbeats = new NodeHeartbeat<ManagedWorker>({
      redis: heartbeatRedis ?? redis,
      clock,
      label: `atomic-queues ${config.nodeId}`,
      members: (intervalMs) => [...this.workers.values()].filter((w) => !w.closing && !w.releasing && w.intervalMs === intervalMs),
      onLost: (managed, why) => {
        if (!this.isLive(managed) || managed.releasing) return;
        this.observer.heartbeatLost(managed.name, managed.entity);
        this.logger.warn(`worker ${managed.name} ${why}: closing`);
        void this.closeWorker(managed.name, 'heartbeat-lost');
      },
      onRefreshed: (outcomes) => this.stallChecks.update(outcomes.filter((o) => this.isLive(o.member)), this.workers.values()),
    });
  }

  get nodeId(): string {
    return this.config.nodeId;
  }

  /**
   * Starts a worker for `queueName` unless a live heartbeat for `workerName` exists anywhere (then
   * `{ created: false, reason: 'alive', owner }` and no consumer is started).
   */
  async createWorker<T = any, R = any>(options: CreateWorkerOptions<T, R>): Promise<CreateWorkerResult> {
    const { workerName, queueName } = options ?? ({} as CreateWorkerOptions);
    assertName('workerName', workerName);
    assertName('queueName', queueName);
    if (options.processor !== undefined && typeof options.processor !== 'function') {
      throw new AtomicQueuesValidationError('processor', 'must be a function (job) => result, or omitted to dispatch through @JobProcessor', options.processor);
    }
    const settings = resolveWorkerDefaults(options.config, this.config.workerDefaults, 'config', argumentRules);
    const entity = options.entity ?? (await this.queues.getQueueEntity(queueName));
    if (entity) assertEntity(entity.entityType, entity.entityId);
    const existing = this.workers.get(workerName);
    // A local worker of the name that is closing (released, signalled) gives way: wait for it, then claim anew.
    if (existing?.closing && !this.shuttingDown) await existing.closing;
    // Not counted as the spawn's createWorker: the engine's spawn then counts as declined and the dispatcher marks
    // the entity ready again for the other nodes.
    if (this.shuttingDown) return { created: false, workerName, reason: 'shutting-down', owner: this.nodeId };
    // Every outcome below (created, alive elsewhere, at capacity) leaves the entity served or ready: the engine
    // needs no retry of this spawn (see EntityDispatcher, declined spawns).
    if (entity) this.signals.spawns.noteCreateWorker(entity);
    if (this.workers.has(workerName)) return { created: false, workerName, reason: 'alive', owner: this.nodeId };
    const managedSpawn = entity !== undefined && this.signals.spawns.isSpawning(entity);
    if (managedSpawn && this.signals.activeManaged >= this.config.engine.maxActiveEntitiesPerNode) {
      // Full: leave the entity to a node with room (its ready mark brings the next free dispatcher).
      await this.safely('mark ready', () => this.signals.markReady(entity, this.clock.now()));
      return { created: false, workerName, reason: 'at-capacity', owner: this.nodeId };
    }
    const inFlight = this.claiming.get(workerName);
    if (inFlight) {
      // Same name requested twice in this process: report the outcome of the first request.
      const first = await inFlight;
      return first.created ? { created: false, workerName, reason: 'alive', owner: this.nodeId } : first;
    }
    const claim = this.claim({ ...options, entity, managedSpawn }, settings);
    this.claiming.set(workerName, claim);
    try {
      return await claim;
    } finally {
      this.claiming.delete(workerName);
    }
  }

  private async claim(options: ClaimRequest, settings: Required<WorkerDefaultsConfig>): Promise<CreateWorkerResult> {
    const { workerName } = options;
    const owner = heartbeatOwner(this.nodeId, randomBytes(8).toString('hex'));
    const claim = await this.names.claim(workerName, owner, Math.round(settings.heartbeatTTL * 1000));
    if (!claim.claimed) return { created: false, workerName, reason: 'alive', owner: claim.holder };
    try {
      const managed = await this.start(options, owner, settings);
      return { created: true, workerName, nodeId: this.nodeId, worker: managed.worker };
    } catch (err) {
      if (options.entity) await this.dropLease(options.entity, workerName);
      await this.safely('release heartbeat', () => this.names.release(workerName, owner));
      throw err;
    }
  }

  /** True iff a live heartbeat for the name exists (on any node). */
  async workerExists(workerName: string): Promise<boolean> {
    assertName('workerName', workerName);
    return this.names.exists(workerName);
  }

  /**
   * `workerExists` for many names in one command per 1,000 names (MGET; per-key EXISTS on a Cluster, where the
   * keys may live in different slots). The cron asks this for every indexed worker on each tick.
   */
  async workersAlive(workerNames: readonly string[]): Promise<boolean[]> {
    for (const name of workerNames) assertName('workerName', name);
    return this.names.alive(workerNames);
  }

  /** Node id holding the name's heartbeat, or undefined. */
  async getWorkerOwner(workerName: string): Promise<string | undefined> {
    assertName('workerName', workerName);
    return this.names.holder(workerName);
  }

  /** Publishes a close signal for the worker; it closes wherever it runs. Returns the number of receivers. */
  async signalWorkerClose(workerName: string): Promise<number> {
    assertName('workerName', workerName);
    return this.closeSignals.signal(workerName, this.nodeId);
  }

  /** Workers recorded for the entity (index), each with whether its heartbeat is alive. */
  async getEntityWorkers(entityType: string, entityId: string): Promise<EntityWorkerInfo[]> {
    assertEntity(entityType, entityId);
    const states = await this.index.getEntityWorkerStates(entityType, entityId);
    const alive = await this.workersAlive(states.map((s) => s.workerName));
    return states.map((s, i) => ({ workerName: s.workerName, state: s.state, nodeId: s.nodeId, updatedAt: s.updatedAt, alive: alive[i] }));
  }

  /** Names of the workers running in this process. */
  /**
   * The heartbeats this node keeps alive (its running workers, not those closing): when each was last confirmed
   * (Clock time) and its TTL. A health check compares them with the clock.
   */
  getLocalHeartbeats(): Array<{ workerName: string; lastRefreshAt: number; ttlMs: number }> {
    return [...this.workers.values()]
      .filter((w) => !w.closing && !w.releasing)
      .map((w) => ({ workerName: w.name, lastRefreshAt: w.lastRefresh, ttlMs: w.ttlMs }));
  }

  getLocalWorkerNames(): string[] {
    return [...this.workers.keys()];
  }

  /**
   * Stops every worker of this node: publishes their close signals and starts closing them locally (no new
   * workers are created afterwards). Current jobs finish; use waitForWorkersToClose to wait.
   */
  async signalNodeWorkersClose(): Promise<void> {
    this.shuttingDown = true;
    const names = [...this.workers.keys()];
    await Promise.allSettled(names.map((n) => this.signalWorkerClose(n)));
    for (const name of names) void this.closeWorker(name, 'node-shutdown');
  }

  /**
   * Waits until every local worker has closed, at most `timeoutMs` (Clock). Returns true if all closed. On
   * timeout, workers still busy are force-closed: their active job stays in Redis and returns to its queue
   * as stalled (never lost).
   */
  async waitForWorkersToClose(timeoutMs: number): Promise<boolean> {
    const closing = [...this.workers.keys()].map((n) => this.closeWorker(n, 'node-shutdown'));
    const done = await settlesWithin(this.clock, Promise.allSettled(closing), timeoutMs);
    if (!done) {
      const left = [...this.workers.values()];
      this.logger.warn(`shutdown timeout (${timeoutMs} ms): force-closing ${left.map((w) => w.name).join(', ')}`);
      await Promise.allSettled(left.map((w) => this.finishClose(w, 'node-shutdown', true)));
    }
    return done;
  }

  /** Closes a local worker after its current job; resolves when closed (no-op for unknown names). */
  closeWorker(workerName: string, reason: WorkerCloseReason = 'closed'): Promise<void> {
    const managed = this.workers.get(workerName);
    if (!managed) return Promise.resolve();
    managed.closing ??= this.finishClose(managed, reason, false);
    return managed.closing;
  }

  /**
   * Failure-injection seam (tests, chaos tooling): makes one local worker behave as if this process had died.
   * Nothing more is written for it — no heartbeat refresh (the key expires after its TTL), no lease refresh, no
   * release, no index update — and its BullMQ worker is cut off from the datastore, so its in-flight job keeps its
   * lock until the lock expires and is then recovered by a live worker (or at once by the lease reaper's takeover).
   * The service forgets the worker, so a replacement of the same name can be created here once the heartbeat is
   * gone. Late lifecycle events of the dead worker's processor carry `incarnation` (default: its name) as workerName.
   */
  async crashLocalWorker(workerName: string, options: { incarnation?: string } = {}): Promise<void> {
    assertName('workerName', workerName);
    const managed = this.workers.get(workerName);
    if (!managed) {
      throw new AtomicQueuesValidationError('workerName', `is not a live worker of this node (live: ${[...this.workers.keys()].join(', ') || 'none'})`, workerName);
    }
    this.stallChecks.stop(managed);
    managed.forced = true; // an in-place retry waiting in its backoff gives up instead of running again
    managed.name = options.incarnation ?? workerName;
    this.workers.delete(workerName);
    if (managed.local) this.signals.unregister(managed.local);
    managed.waiter.close();
    // A dead process reports nothing and writes nothing more.
    await severBullWorker(managed.worker);
  }

  /** Attaches a job-lifecycle listener (every attempt's start and end). Returns the unsubscribe function. */
  observe(listener: JobLifecycleListener): () => void {
    return this.observers.observe(listener);
  }

  /**
   * Graceful node shutdown: stop accepting workers, close every local worker after its current job (bounded
   * by `timeoutMs`, then forced), release heartbeats. Returns true if every worker closed in time.
   */
  async shutdown(timeoutMs = this.config.shutdownTimeoutMs): Promise<boolean> {
    await this.signalNodeWorkersClose();
    const done = await this.waitForWorkersToClose(timeoutMs);
    this.heartbeats.stop();
    this.closeSignals.detach();
    return done;
  }

  // ---------------------------------------------------------------------------------------------------------

  private async start(options: ClaimRequest, owner: string, settings: Required<WorkerDefaultsConfig>): Promise<ManagedWorker> {
    const { workerName, queueName, entity } = options;
    const processor = options.processor ?? ((job: Job) => this.registry.dispatch(job));
    await this.closeSignals.listen(workerName);

    let managed!: ManagedWorker;
    const { managedSpawn } = options;
    const waiter = new JobWaiter(this.clock, `worker ${workerName}`, managedSpawn ? this.config.engine.idleReleaseMs : 0, {
      onIdle: () => this.releaseIdle(managed),
    });
    // A burst of starts (a cron tick, an app start) resumes here for every claim of one Redis reply; yielding
    // first lets timers and replies (the heartbeat round trip) run between the synchronous Worker constructions.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const worker = createBullWorker(
      this.driver,
      { queueName, workerName, prefix: this.config.keyPrefix, settings, skipStalledCheck: this.nodeRunsStallChecks, waiter },
      (job: Job) => this.runJob(managed, job, processor),
    );
    managed = {
      name: workerName,
      queueName,
      entity,
      owner,
      heartbeatKey: this.names.key(workerName),
      ttlMs: Math.round(settings.heartbeatTTL * 1000),
      intervalMs: settings.heartbeatInterval,
      watchKey: this.nodeRunsStallChecks ? worker.keys.active : undefined,
      settings,
      events: options.events ?? {},
      worker,
      lastRefresh: this.clock.now(),
      running: 0,
      waiter,
    };
    this.workers.set(workerName, managed);
    if (entity) {
      managed.local = { workerName, queueName, entity, waiter, managed: managedSpawn, ttlMs: managed.ttlMs };
      this.signals.register(managed.local);
      // Independent writes, one round trip: each failure is logged, none stops the worker (the dispatcher's
      // lease refresh and the index sweeper repair a missed lease or index entry). Orphans are recovered before
      // the worker fetches, so a dead owner's job runs first.
      await Promise.all([
        this.safely('lease', () => this.leases.write(entity, workerName, managed.ttlMs)),
        this.recoverOrphans(managed),
        this.safely('index worker', () => this.index.setWorkerState(entity.entityType, entity.entityId, workerName, 'running')),
      ]);
    }
    this.wireEvents(managed);
    this.heartbeats.ensure(settings.heartbeatInterval);
    if (this.nodeRunsStallChecks) this.stallChecks.start(managed);
    void worker.run().catch((err) => this.logger.error(`worker ${workerName} stopped: ${String(err)}`));
    try {
      await worker.waitUntilReady();
      await managed.events.onReady?.(worker, workerName);
    } catch (err) {
      this.logger.warn(`worker ${workerName} onReady: ${String(err)}`);
    }
    return managed;
  }

  private wireEvents(managed: ManagedWorker): void {
    const { name, events } = managed;
    wireBullWorker(managed.worker, name, this.logger, {
      onFinished: (job) => void this.unindex(managed, job),
      onCompleted: events.onCompleted && ((job) => void this.safely('onCompleted', async () => events.onCompleted?.(job, name))),
      onFailedForGood: (job, err) => void this.safely('onFailed', async () => events.onFailed?.(job, err, name)),
    });
  }

  private async unindex(managed: ManagedWorker, job: Job): Promise<void> {
    if (!managed.entity || job.id === undefined) return;
    await this.safely('unindex job', () => this.index.unindexJobSoon(managed.entity!.entityType, managed.entity!.entityId, String(job.id)));
  }

  /** Runs one job: every attempt in place while the job stays active; throws only the final failure. */
  private async runJob(managed: ManagedWorker, job: Job, processor: (job: Job) => unknown): Promise<unknown> {
    managed.running += 1;
    managed.waiter.markBusy();
    try {
      return await this.retries.run(managed, job, processor);
    } finally {
      managed.running -= 1;
    }
  }

  private async finishClose(managed: ManagedWorker, reason: WorkerCloseReason, force: boolean): Promise<void> {
    const { name, entity } = managed;
    // No more wake-ups for it: jobs added from now on mark the entity ready (see the re-check below).
    managed.waiter.close();
    try {
      if (force) {
        managed.forced = true;
        // A graceful close may already be waiting for the job; BullMQ would return that same promise, so cut the
        // connections instead: the lock is no longer renewed and the job goes back to wait as stalled.
        await settlesWithin(this.clock, managed.worker.disconnect(), 1000);
      } else {
        // An idle worker has no job to finish: its index entry goes in a moment, no 'closing' state in between.
        if (entity && reason !== 'heartbeat-lost' && reason !== 'idle') await this.safely('index closing', () => this.index.setWorkerState(entity.entityType, entity.entityId, name, 'closing'));
        const closing = managed.worker.close();
        if (reason !== 'heartbeat-lost') await closing;
        else if (!(await settlesWithin(this.clock, closing, this.config.shutdownTimeoutMs))) {
          // Redis unreachable or a job stuck: the name is no longer ours, stop for good.
          managed.forced = true;
          await settlesWithin(this.clock, managed.worker.disconnect(), 1000);
        }
      }
    } catch (err) {
      this.logger.warn(`closing worker ${name}: ${String(err)}`);
    }
    if (this.workers.get(name) !== managed) return; // already finished by a concurrent (forced) close
    this.workers.delete(name);
    if (managed.local) this.signals.unregister(managed.local);
    this.stallChecks.stop(managed);
    this.closeSignals.stopListening(name);
    // A lost heartbeat is no longer ours to release; an idle release dropped lease and heartbeat and re-checked
    // the queue itself.
    if (reason !== 'heartbeat-lost' && reason !== 'idle') {
      // The lease goes before the heartbeat: a lease seen without its heartbeat means a dead owner (takeover).
      if (entity) await this.dropLease(entity, name);
      await this.safely('release heartbeat', () => this.names.release(name, managed.owner));
      // Work left behind (a job added while closing, a node going down) is taken by a node at once, not at the
      // next cron tick.
      if (entity) await this.safely('re-check', () => this.markReadyIfWork(managed.queueName, entity));
    }
    // After a lost heartbeat the name may already belong to a worker elsewhere: leave its index entry alone.
    const takenOver = reason === 'heartbeat-lost' && (await this.safely('read owner', () => this.workerExists(name))) !== false;
    if (entity && !takenOver) await this.safely('index closed', () => this.index.removeWorkerState(entity.entityType, entity.entityId, name));
    await this.safely('onClosed', async () => managed.events.onClosed?.(name, reason));
  }

  /**
   * Idle release (the waiter calls it): give the entity back so its next job goes to whichever node has room.
   * Race-free against adds: the heartbeat is dropped FIRST, then the queue re-checked. An add before the drop is
   * seen by the re-check (the worker then re-claims its name and goes on, or another node already did); an add
   * after it finds the entity unowned, so its ready signal brings a node that can claim it. Delayed jobs leave
   * the entity ready at the earliest due time. Returns true when released (the worker then closes).
   */
  private async releaseIdle(managed: ManagedWorker): Promise<boolean> {
    if (!this.isLive(managed) || !managed.entity) return false;
    managed.releasing = true;
    try {
      // The lease goes before the heartbeat: a lease seen without its heartbeat means a dead owner (takeover).
      await this.dropLease(managed.entity, managed.name);
      if (!(await this.names.release(managed.name, managed.owner))) {
        void this.closeWorker(managed.name, 'heartbeat-lost');
        return true;
      }
      // Unknown (a failed read) counts as runnable: keep serving rather than strand a job.
      const workAt = await this.queues.nextWorkAt(managed.queueName).catch(() => 0);
      if (workAt === 0) {
        const again = await this.redis.set(managed.heartbeatKey, managed.owner, 'PX', managed.ttlMs, 'NX');
        if (again === 'OK') {
          managed.lastRefresh = this.clock.now();
          await this.leases.write(managed.entity, managed.name, managed.ttlMs);
          return false;
        }
      } else if (workAt !== undefined) {
        await this.signals.markReady(managed.entity, workAt);
      }
    } catch (err) {
      // Unsure whether the heartbeat is ours: stop serving; the name is free or expires, and the cron/poll retake it.
      this.logger.warn(`idle release of ${managed.name}: ${String(err)}`);
    } finally {
      managed.releasing = false;
    }
    void this.closeWorker(managed.name, 'idle');
    return true;
  }

  private async dropLease(entity: { entityType: string; entityId: string }, workerName: string): Promise<void> {
    await this.safely('drop lease', () => this.leases.drop(entity, workerName));
  }

  /** Marks the entity ready (now, or when its earliest delayed job is due) if its queue still holds work. */
  private async markReadyIfWork(queueName: string, entity: { entityType: string; entityId: string }): Promise<void> {
    const workAt = await this.queues.nextWorkAt(queueName);
    if (workAt !== undefined) await this.signals.markReady(entity, Math.max(workAt, this.clock.now()));
  }

  /** The entity's previous owner died: its job still locked in the queue is re-run first (EntityLeases). */
  private async recoverOrphans(managed: ManagedWorker): Promise<void> {
    const outcome = await this.safely('recover orphans', () => this.leases.recoverOrphans(managed.queueName, this.driver));
    if (outcome?.recovered) this.logger.log(`worker ${managed.name}: recovering ${outcome.recovered} job(s) of dead worker ${outcome.deadWorker}`);
  }

  /** Still this node's running worker of its name (not closing, not replaced). */
  private isLive(managed: ManagedWorker): boolean {
    return !managed.closing && this.workers.get(managed.name) === managed;
  }

  private safely<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    return safely(this.logger, what, fn);
  }
}
