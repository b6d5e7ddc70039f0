import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { entityQueueName } from '../config/keys.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { QueueManagerService } from '../queues/queue-manager.service.js';
import { ATOMIC_QUEUES_ENTITY_QUEUE_STORE, type EntityQueueStore } from './entity-queue-store.js';
import { PeriodicTask } from '../timing/periodic-task.js';
import { IndexManagerService, type RetireOutcome, type SweepEntity } from './index-manager.service.js';

/** Oldest indexed jobs checked per entity and sweep (a stale job is among the oldest). */
const JOBS_PER_ENTITY = 100;
/** Kept finished jobs deleted per retirement script call, and calls per entity and sweep. */
const FINISHED_PER_CALL = 1000;
const RETIRE_CALLS_PER_SWEEP = 10;
/** Entities handled at once within a page. */
const PARALLEL = 16;

export interface IndexSweepError {
  stage: 'types' | 'page' | 'repair' | 'retire' | 'closeQueues';
  entityType?: string;
  entityId?: string;
  error: Error;
}

export interface IndexSweepReport {
  /** Entities looked at (every type). */
  examined: number;
  /** Jobs unindexed because they had finished (or vanished) without being unindexed. */
  repaired: { entityType: string; entityId: string; jobIds: string[] }[];
  /** Entities retired: BullMQ queue keys, index entries and this process's Queue object removed. */
  retired: { entityType: string; entityId: string; queueName: string }[];
  /** Queue objects of this process closed because their entity was retired by another process. */
  closedQueues: string[];
  errors: IndexSweepError[];
}

/**
 * Keeps the entity index true and bounded. Every `indexSweep.interval` on each node (Clock; sweeps never
 * overlap), per entity type, one page of `indexSweep.batchSize` entities in order of last activity, resuming
 * where the previous sweep stopped:
 *
 * - **Repair.** An indexed job whose BullMQ job is finished (its process died between the end and the unindex)
 *   is unindexed, so the cron stops keeping a worker for it. An indexed job whose BullMQ job does not exist is
 *   unindexed only if it was indexed more than `missingJobGraceMs` before this sweep read the server time:
 *   the module indexes a job just BEFORE adding it, and an add slower than half that grace indexes its job again
 *   (IndexManagerService.confirmIndexed), so a job being added is never left unindexed.
 * - **Retirement.** An entity with no pending job, idle for `entityRetentionMs` and no live worker is retired in
 *   one atomic step (IndexManagerService.retireEntity) that also checks its queue holds no unfinished job: the
 *   queue's BullMQ keys (completed/failed jobs kept by removeOnComplete/removeOnFail included: retention counts from
 *   the entity's last activity), its index entries and this process's cached Queue are removed. A job indexed
 *   before the step blocks it; one indexed after it sees the queue unindexed and re-registers it
 *   (QueueManagerService), so no job is lost. Other processes close their cached Queue of a retired entity on
 *   their own sweep, and re-register it on their next add in any case.
 *
 * Errors are logged, reported in the sweep's IndexSweepReport and never stop the sweeper.
 */
@Injectable()
export class IndexSweeperService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AtomicQueues:IndexSweeper');
  /** Per entity type: rank in the type's activity order where the next page starts. */
  private readonly cursors = new Map<string, number>();
  private readonly sweeps: PeriodicTask<IndexSweepReport>;

  constructor(
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) clock: Clock,
    @Inject(ATOMIC_QUEUES_ENTITY_QUEUE_STORE) private readonly store: EntityQueueStore,
    private readonly index: IndexManagerService,
    private readonly queues: QueueManagerService,
  ) {
    this.sweeps = new PeriodicTask(clock, 'atomic-queues index sweep', () => this.runSweep());
  }

  get isRunning(): boolean {
    return this.sweeps.isRunning;
  }

  onApplicationBootstrap(): void {
    if (this.config.indexSweep.interval > 0) this.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.stop();
  }

  /** Sweeps every `intervalMs` (Clock), the first sweep `intervalMs` from now. 0 stops. */
  start(intervalMs: number = this.config.indexSweep.interval): void {
    if (intervalMs === 0) return void this.stop();
    this.sweeps.start(intervalMs);
  }

  /** Stops sweeping and waits for a sweep in progress. */
  stop(): Promise<void> {
    return this.sweeps.stop();
  }

  /** Runs one sweep now, or joins the one in progress. */
  sweep(): Promise<IndexSweepReport> {
    return this.sweeps.run();
  }

  private async runSweep(): Promise<IndexSweepReport> {
    const report: IndexSweepReport = { examined: 0, repaired: [], retired: [], closedQueues: [], errors: [] };
    let types: string[] = [];
    try {
      types = await this.index.getEntityTypes();
    } catch (err) {
      report.errors.push({ stage: 'types', error: asError(err) });
    }
    for (const entityType of types) await this.sweepType(entityType, report);
    await this.closeRetiredQueues(report);
    for (const e of report.errors) {
      this.logger.error(`index sweep ${e.stage} failed${e.entityType ? ` for ${e.entityType}${e.entityId ? `/${e.entityId}` : ''}` : ''}: ${e.error.message}`, e.error.stack);
    }
    const repairedJobs = report.repaired.reduce((n, r) => n + r.jobIds.length, 0);
    if (repairedJobs > 0) this.logger.log(`unindexed ${repairedJobs} finished job(s) left indexed, of ${report.repaired.length} entit(ies)`);
    if (report.retired.length > 0) this.logger.debug(`retired ${report.retired.length} idle entit(ies)`);
    return report;
  }

  private async sweepType(entityType: string, report: IndexSweepReport): Promise<void> {
    const { batchSize } = this.config.indexSweep;
    const offset = this.cursors.get(entityType) ?? 0;
    let page: { now: number; entities: SweepEntity[] };
    let workers: Map<string, string[]>;
    try {
      workers = new Map();
      for (const w of await this.index.getEntityWorkerStates(entityType)) {
        workers.set(w.entityId, [...(workers.get(w.entityId) ?? []), w.workerName]);
      }
      page = await this.index.sweepPage(entityType, offset, batchSize, JOBS_PER_ENTITY);
    } catch (err) {
      report.errors.push({ stage: 'page', entityType, error: asError(err) });
      return;
    }
    report.examined += page.entities.length;
    let retired = 0;
    for (let i = 0; i < page.entities.length; i += PARALLEL) {
      const outcomes = await Promise.all(
        page.entities.slice(i, i + PARALLEL).map((e) => this.sweepEntity(entityType, e, page.now, workers.get(e.entityId) ?? [], report)),
      );
      retired += outcomes.filter(Boolean).length;
    }
    // Retired entities left the activity order, so the next page starts that much earlier; a short page wraps.
    this.cursors.set(entityType, page.entities.length < batchSize ? 0 : offset + page.entities.length - retired);
  }

  /** Repairs, then retires if idle. Returns true if the entity was retired. */
  private async sweepEntity(entityType: string, e: SweepEntity, now: number, workerNames: string[], report: IndexSweepReport): Promise<boolean> {
    const { entityId } = e;
    const { entityRetentionMs, missingJobGraceMs } = this.config.indexSweep;
    const queueName = e.queueName ?? entityQueueName(entityType, entityId);
    let pending = e.pending;
    if (e.jobs.length > 0) {
      try {
        // `now` was read before these presences: a job missing here was not added by `now` (see class comment).
        const presence = await this.store.jobPresence(queueName, e.jobs.map((j) => j.jobId));
        const stale = e.jobs
          .filter((j, i) => presence[i] === 'finished' || (presence[i] === 'missing' && now - j.indexedAt > missingJobGraceMs))
          .map((j) => j.jobId);
        if (stale.length > 0) {
          pending -= await this.index.unindexJobs(entityType, entityId, stale);
          report.repaired.push({ entityType, entityId, jobIds: stale });
        }
      } catch (err) {
        report.errors.push({ stage: 'repair', entityType, entityId, error: asError(err) });
        return false;
      }
    }
    if (entityRetentionMs === 0 || pending > 0 || now - e.lastActivity < entityRetentionMs) return false;
    try {
      let outcome: RetireOutcome = 'more';
      for (let calls = 0; outcome === 'more' && calls < RETIRE_CALLS_PER_SWEEP; calls++) {
        outcome = await this.store.retire(queueName, (queueBaseKey) =>
          this.index.retireEntity(entityType, entityId, queueName, { retentionMs: entityRetentionMs, workerNames, queueBaseKey, finishedLimit: FINISHED_PER_CALL }),
        );
      }
      if (outcome !== 'retired') return false;
      report.retired.push({ entityType, entityId, queueName });
      await this.queues.closeQueue(queueName);
      return true;
    } catch (err) {
      report.errors.push({ stage: 'retire', entityType, entityId, error: asError(err) });
      return false;
    }
  }

  /** Closes this process's Queue objects of entity queues no longer indexed (retired by any process). */
  private async closeRetiredQueues(report: IndexSweepReport): Promise<void> {
    try {
      const open = this.queues.openQueueNames();
      // Local answers only: every open name is cached, as an entity queue or as a plain one.
      const entityQueues: string[] = [];
      for (const name of open) if (await this.queues.getQueueEntity(name)) entityQueues.push(name);
      const indexed = await this.index.queuesIndexed(entityQueues);
      const gone = entityQueues.filter((_, i) => !indexed[i]);
      for (const name of gone) await this.queues.closeQueue(name);
      report.closedQueues.push(...gone);
    } catch (err) {
      report.errors.push({ stage: 'closeQueues', error: asError(err) });
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
