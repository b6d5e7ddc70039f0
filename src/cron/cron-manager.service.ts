import { Inject, Injectable, Logger } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { keys } from '../config/keys.js';
import { AtomicQueuesValidationError } from '../errors.js';
import { IndexManagerService, type EntityWorkerState } from '../index/index-manager.service.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { EngineSignals } from '../engine/engine-signals.service.js';
import { PeriodicTask, type PeriodicTaskActivity } from '../timing/periodic-task.js';
import { assertEntityPart, assertPositiveInteger } from '../validation.js';
import { WorkerManagerService } from '../workers/worker-manager.service.js';
import {
  ENTITY_TYPE_REGISTRATION_KEYS,
  type CronTickError,
  type CronTickReport,
  type EntityTypeRegistration,
} from './cron.types.js';

type Registration = Required<Pick<EntityTypeRegistration, 'entityType' | 'maxWorkersPerEntity' | 'onSpawnWorker'>> &
  Omit<EntityTypeRegistration, 'entityType' | 'maxWorkersPerEntity' | 'onSpawnWorker'>;

/** Records a tick error (stage, cause, entity). */
type Fail = (stage: CronTickError['stage'], error: unknown, entityId?: string) => void;

/**
 * Keeps one worker per entity with pending jobs, on every node that runs it: each tick, per registered entity
 * type, spawns workers (onSpawnWorker) for entities with pending jobs and no live worker, and signals idle
 * workers to close. Before spawning, a node takes a short per-entity claim in Redis (`SET NX PX`), so nodes
 * ticking at the same time spawn once; WorkerManagerService's worker-name heartbeat claim is the final guard.
 *
 * Ticks never overlap (the next one is scheduled when the previous one ends, through the Clock port). Errors in
 * callbacks or Redis calls are logged, reported in the tick's CronTickReport and never stop the cron.
 * AtomicQueuesLifecycle starts it on bootstrap when `enableCronManager` is set and stops it on shutdown.
 */
@Injectable()
export class CronManagerService {
  private readonly logger = new Logger('AtomicQueues:CronManager');
  private readonly registrations = new Map<string, Registration>();
  private readonly registrationListeners = new Set<(entityType: string) => void>();
  private readonly ticks: PeriodicTask<CronTickReport>;

  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) clock: Clock,
    private readonly index: IndexManagerService,
    private readonly workers: WorkerManagerService,
    private readonly signals: EngineSignals,
  ) {
    this.ticks = new PeriodicTask(clock, 'atomic-queues cron tick', () => this.runTick());
  }

  get isRunning(): boolean {
    return this.ticks.isRunning;
  }

  /** Clock times of the tick loop: when it started, the last tick's start and end, a tick in progress. */
  get activity(): PeriodicTaskActivity {
    return this.ticks.activity;
  }

  /** Registers how workers of an entity type are spawned and terminated. Throws if the type is already registered. */
  registerEntityType(registration: EntityTypeRegistration): void {
    const reg = validateRegistration(registration);
    if (this.registrations.has(reg.entityType)) {
      throw new AtomicQueuesValidationError('entityType', 'is already registered; call unregisterEntityType first to replace it', reg.entityType);
    }
    this.registrations.set(reg.entityType, reg);
    for (const listener of this.registrationListeners) listener(reg.entityType);
  }

  /** Called after each registerEntityType (the engine's dispatcher looks for ready entities of the new type). */
  onEntityTypeRegistered(listener: (entityType: string) => void): () => void {
    this.registrationListeners.add(listener);
    return () => this.registrationListeners.delete(listener);
  }

  /** Stops managing an entity type (its running workers are left alone). Throws for an unknown type. */
  unregisterEntityType(entityType: string): void {
    if (!this.registrations.delete(entityType)) {
      throw new AtomicQueuesValidationError('entityType', `is not registered (registered: ${this.getRegisteredEntityTypes().join(', ') || 'none'})`, entityType);
    }
  }

  getRegisteredEntityTypes(): string[] {
    return [...this.registrations.keys()];
  }

  isRegistered(entityType: string): boolean {
    return this.registrations.has(entityType);
  }

  /**
   * Starts the worker of one entity through its type's `onSpawnWorker` (the engine's dispatcher calls it for
   * entities it took from the ready set). Honours `getDesiredWorkerCount` (0 = leave the entity alone). Workers
   * created inside are managed by the engine (counted per node, released when idle). Callback errors propagate.
   * 'declined': the callback made no `createWorker` call for an entity (the dispatcher retries it shortly).
   */
  async spawnEntity(entityType: string, entityId: string): Promise<'spawned' | 'declined' | 'not-wanted' | 'unregistered'> {
    const reg = this.registrations.get(entityType);
    if (!reg) return 'unregistered';
    if ((await this.desiredCount(reg, entityId, 1)) < 1) return 'not-wanted';
    const { createWorkerCalls } = await this.signals.spawns.run({ entityType: reg.entityType, entityId }, () => reg.onSpawnWorker(entityId));
    // 'declined': the callback returned without asking for a worker of the entity (nothing serves it now).
    return createWorkerCalls > 0 ? 'spawned' : 'declined';
  }

  /**
   * Ticks every `intervalMs` (Clock), the first one `intervalMs` from now; the next tick is scheduled when the
   * previous one has finished. Calling start again while running changes the interval from the next tick on.
   */
  start(intervalMs: number = this.config.cronInterval): void {
    this.ticks.start(intervalMs);
  }

  /** Stops ticking and waits for a tick in progress to finish. */
  stop(): Promise<void> {
    return this.ticks.stop();
  }

  /** Runs one tick now, or joins the one in progress (ticks never overlap). */
  tick(): Promise<CronTickReport> {
    return this.ticks.run();
  }

  private async runTick(): Promise<CronTickReport> {
    const report: CronTickReport = { spawned: [], terminated: [], claimedElsewhere: [], errors: [] };
    for (const reg of [...this.registrations.values()]) {
      await this.tickEntityType(reg, report);
    }
    for (const e of report.errors) {
      this.logger.error(`${e.stage} failed for ${e.entityType}${e.entityId ? `/${e.entityId}` : ''}: ${e.error.message}`, e.error.stack);
    }
    return report;
  }

  private async tickEntityType(reg: Registration, report: CronTickReport): Promise<void> {
    const { entityType } = reg;
    const fail: Fail = (stage, error, entityId) =>
      void report.errors.push({ entityType, entityId, stage, error: asError(error) });

    const [pendingResult, workersResult] = await Promise.allSettled([this.index.getEntitiesWithJobs(entityType), this.liveWorkers(entityType)]);
    if (pendingResult.status === 'rejected') fail('getEntitiesWithJobs', pendingResult.reason);
    if (workersResult.status === 'rejected') fail('workers', workersResult.reason);
    // Without both views the cron could spawn duplicates or close busy workers: skip the type this tick.
    if (pendingResult.status === 'rejected' || workersResult.status === 'rejected') return;
    const pending = pendingResult.value;
    const workersByEntity = workersResult.value;
    const wanted = new Set(Object.keys(pending));
    let canTerminate = true;
    if (reg.getActiveEntityIds) {
      try {
        for (const id of await reg.getActiveEntityIds()) {
          assertEntityPart('entityId', id);
          wanted.add(id);
        }
      } catch (err) {
        // Entities only this callback lists would look idle: close nothing this tick.
        canTerminate = false;
        fail('getActiveEntityIds', err);
      }
    }

    const entityIds = new Set([...wanted, ...workersByEntity.keys()]);
    await Promise.all(
      [...entityIds].map(async (entityId) => {
        const live = workersByEntity.get(entityId) ?? [];
        let desired = 0;
        if (wanted.has(entityId)) {
          try {
            desired = await this.desiredCount(reg, entityId, pending[entityId] ?? 0);
          } catch (err) {
            return fail('getDesiredWorkerCount', err, entityId);
          }
        }
        for (let slot = live.length; slot < desired; slot++) await this.spawn(reg, entityId, slot, report, fail);
        if (!canTerminate) return;
        const closable = live.filter((w) => w.state !== 'closing');
        for (const w of closable.slice(0, Math.max(0, live.length - desired))) await this.terminate(reg, entityId, w.workerName, report, fail);
      }),
    );
  }

  /** Alive workers of the type (recorded in the index and holding a heartbeat), grouped by entity. */
  private async liveWorkers(entityType: string): Promise<Map<string, EntityWorkerState[]>> {
    const states = (await this.index.getEntityWorkerStates(entityType)).filter((s) => s.state !== 'closed');
    const alive = await this.workers.workersAlive(states.map((s) => s.workerName));
    const out = new Map<string, EntityWorkerState[]>();
    states.forEach((s, i) => {
      if (!alive[i]) return;
      const list = out.get(s.entityId) ?? [];
      list.push(s);
      out.set(s.entityId, list);
    });
    return out;
  }

  private async desiredCount(reg: Registration, entityId: string, pendingJobs: number): Promise<number> {
    if (!reg.getDesiredWorkerCount) return Math.min(1, reg.maxWorkersPerEntity);
    const n = await reg.getDesiredWorkerCount(entityId, pendingJobs);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new AtomicQueuesValidationError('getDesiredWorkerCount() result', 'must be an integer >= 0', n);
    }
    return Math.min(n, reg.maxWorkersPerEntity);
  }

  private async spawn(
    reg: Registration,
    entityId: string,
    slot: number,
    report: CronTickReport,
    fail: Fail,
  ): Promise<void> {
    const ref = { entityType: reg.entityType, entityId };
    const claimMs = reg.spawnClaimMs ?? this.ticks.interval ?? this.config.cronInterval;
    try {
      const claimKey = keys.cronSpawnClaim(this.config.keyPrefix, reg.entityType, entityId, slot);
      if ((await this.redis.set(claimKey, this.config.nodeId, 'PX', claimMs, 'NX')) !== 'OK') {
        report.claimedElsewhere.push(ref);
        return;
      }
    } catch (err) {
      return fail('spawnClaim', err, entityId);
    }
    try {
      await this.signals.spawns.run({ entityType: reg.entityType, entityId }, () => reg.onSpawnWorker(entityId));
      report.spawned.push(ref);
    } catch (err) {
      // The claim stays until it expires: the next attempt comes after spawnClaimMs, from any node.
      fail('onSpawnWorker', err, entityId);
    }
  }

  private async terminate(
    reg: Registration,
    entityId: string,
    workerName: string,
    report: CronTickReport,
    fail: Fail,
  ): Promise<void> {
    try {
      await this.workers.signalWorkerClose(workerName);
      report.terminated.push({ entityType: reg.entityType, entityId, workerName });
    } catch (err) {
      return fail('signalWorkerClose', err, entityId);
    }
    try {
      await reg.onTerminateWorker?.(entityId, workerName);
    } catch (err) {
      fail('onTerminateWorker', err, entityId);
    }
  }
}

function validateRegistration(input: EntityTypeRegistration): Registration {
  if (typeof input !== 'object' || input === null) {
    throw new AtomicQueuesValidationError('registration', 'must be an object { entityType, onSpawnWorker, ... }', input);
  }
  for (const key of Object.keys(input)) {
    if (!(ENTITY_TYPE_REGISTRATION_KEYS as readonly string[]).includes(key)) {
      throw new AtomicQueuesValidationError(`registration.${key}`, `is not a known option; accepted: ${ENTITY_TYPE_REGISTRATION_KEYS.join(', ')}`, (input as unknown as Record<string, unknown>)[key]);
    }
  }
  assertEntityPart('entityType', input.entityType);
  const maxWorkersPerEntity = input.maxWorkersPerEntity ?? 1;
  assertPositiveInteger('maxWorkersPerEntity', maxWorkersPerEntity);
  if (input.spawnClaimMs !== undefined) assertPositiveInteger('spawnClaimMs', input.spawnClaimMs);
  assertFunction('onSpawnWorker', input.onSpawnWorker, true);
  assertFunction('onTerminateWorker', input.onTerminateWorker, false);
  assertFunction('getDesiredWorkerCount', input.getDesiredWorkerCount, false);
  assertFunction('getActiveEntityIds', input.getActiveEntityIds, false);
  return { ...input, maxWorkersPerEntity };
}

function assertFunction(argument: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'function') {
    throw new AtomicQueuesValidationError(argument, required ? 'is required and must be a function' : 'must be a function when given', value);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
