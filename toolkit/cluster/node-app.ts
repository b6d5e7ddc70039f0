import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WaitingError, type Job, type Worker } from 'bullmq';
import {
  AtomicQueuesModule,
  CronManagerService,
  QueueManagerService,
  ResourceLockService,
  WorkerManagerService,
  entityWorkerName,
  type CreateWorkerResult,
  type JobLifecycleEvent,
} from '@nestjs/atomic-queues';
import { JsonlHistoryRecorder } from '@nestjs/atomic-queues/testing';
import { EntityLease, leaseTtlSeconds } from './entity-lease.js';
import { exitWithParent } from './env.js';
import { READY_MARKER } from './launcher.js';
import { effectKey, jobPlan, readNodeAppSettings, type NodeAppSettings } from './settings.js';

/**
 * One cluster node: AtomicQueuesModule from the environment (see settings.ts), the cron spawning one worker
 * per entity with pending jobs, a processor that sleeps / fails per the job rules and (with AQ_FENCING) applies
 * its effect through the fencing token of its worker's EntityLease (taken before the worker is created; see
 * README.md, Fencing), and a JSONL history of every attempt. Prints AQ_READY when up;
 * SIGTERM runs the module's graceful shutdown.
 */

interface WorkData {
  entityType: string;
  entityId: string;
  seq?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One worker instance (one createWorker call) and, with AQ_FENCING, its fencing lease on the entity. */
interface WorkerInstance {
  workerName: string;
  queueName: string;
  entityType: string;
  entityId: string;
  lease?: EntityLease;
  /** The BullMQ worker, once createWorker returned it. */
  worker?: Worker;
}

class NodeRuntime {
  private readonly recorder?: JsonlHistoryRecorder;
  /** Attempt number of the job each worker is running (the lifecycle start event precedes the processor call). */
  private readonly attempts = new Map<string, number>();
  private leaseCount = 0;

  constructor(
    private readonly s: NodeAppSettings,
    private readonly queues: QueueManagerService,
    private readonly workers: WorkerManagerService,
    private readonly locks: ResourceLockService,
  ) {
    if (s.historyFile) this.recorder = new JsonlHistoryRecorder(s.historyFile);
    workers.observe((event) => this.onEvent(event));
  }

  private onEvent(event: JobLifecycleEvent): void {
    this.recorder?.record(event);
    if (event.phase === 'start') this.attempts.set(event.job.id, event.attempt);
    else this.attempts.delete(event.job.id);
    if (this.s.logJobs) {
      const d = event.job.data as WorkData;
      console.log(`AQ_JOB ${event.phase} ${d.entityId} ${d.seq ?? '-'} ${event.attempt} ${event.outcome ?? '-'}`);
    }
  }

  /**
   * onSpawnWorker. With AQ_FENCING the entity's lease is taken BEFORE the worker exists; when another owner still
   * holds it no worker is created (the cron tries again on a later tick).
   */
  async spawn(entityId: string): Promise<void> {
    const { entityType } = this.s;
    const queue = await this.queues.getOrCreateEntityQueue(entityType, entityId);
    const workerName = entityWorkerName(entityType, entityId);
    const instance: WorkerInstance = { workerName, queueName: queue.name, entityType, entityId };
    if (this.s.fencing) {
      instance.lease = await this.acquireLease(instance);
      if (!instance.lease) {
        console.log(`AQ_LEASE_BUSY ${workerName}`);
        return;
      }
    }
    let result: CreateWorkerResult;
    try {
      result = await this.workers.createWorker({
        workerName,
        queueName: queue.name,
        entity: { entityType, entityId },
        processor: (job: Job<WorkData>) => this.process(instance, job),
        events: {
          onClosed: async (name, reason) => {
            console.log(`AQ_WORKER_CLOSED ${name} reason=${reason}`);
            await instance.lease?.release();
          },
        },
      });
    } catch (error) {
      await instance.lease?.release();
      throw error;
    }
    console.log(`AQ_CREATE_WORKER ${workerName} created=${result.created} owner=${result.created ? result.nodeId : result.owner}`);
    if (!result.created) return instance.lease?.release();
    instance.worker = result.worker;
    instance.lease?.start();
  }

  private async acquireLease(instance: WorkerInstance): Promise<EntityLease | undefined> {
    const lease = await EntityLease.acquire({
      locks: this.locks,
      entityType: instance.entityType,
      entityId: instance.entityId,
      ownerId: `${this.s.nodeId}:${process.pid}:${instance.workerName}:${++this.leaseCount}`,
      ownerType: this.s.nodeId,
      ttlSeconds: leaseTtlSeconds(this.s.heartbeatTtlMs),
      intervalMs: this.s.heartbeatIntervalMs,
      stillOwner: async () => {
        const { worker } = instance;
        if (worker === undefined || worker.closing) return false;
        // Another node's heartbeat on the name: the entity is served elsewhere. No heartbeat at all is not a loss
        // by itself: the engine's idle release drops the heartbeat first and re-claims it when a job arrived
        // meanwhile (docs/engine.md), so a worker that goes on serving is briefly without one. A heartbeat that is
        // really gone makes the module close the worker ('heartbeat-lost'), and `closing` ends the lease then.
        const owner = await this.workers.getWorkerOwner(instance.workerName);
        return owner === undefined || owner === this.s.nodeId;
      },
      onLost: (why) => this.closeInstance(instance, why),
    });
    if (lease && this.s.logJobs) console.log(`AQ_LEASE ${instance.workerName} token=${lease.token}`);
    return lease;
  }

  /**
   * The lease is lost: closes this instance's worker at once, unless it is closing already (a newer worker of the
   * same name on this node can only exist after this one closed). Closed as the module closes a worker that lost
   * its ownership ('heartbeat-lost'): bounded close, and the name's heartbeat and index entry, which may belong to
   * the new owner by now, are left alone.
   */
  private closeInstance(instance: WorkerInstance, why: string): void {
    const { worker, workerName } = instance;
    console.log(`AQ_LEASE_LOST ${workerName} ${why}`);
    if (!worker || worker.closing) return;
    this.workers.closeWorker(workerName, 'heartbeat-lost').catch((error: unknown) => console.error(`closing ${workerName}: ${String(error)}`));
  }

  private async process(instance: WorkerInstance, job: Job<WorkData>): Promise<string> {
    const { workerName, queueName, lease } = instance;
    const { entityType, entityId, seq } = job.data;
    const jobId = String(job.id);
    const attempt = this.attempts.get(jobId) ?? job.attemptsMade + 1;
    const plan = jobPlan(this.s.jobRules, entityId, seq, this.s.jobMs);
    await sleep(plan.delayMs);
    if (attempt <= plan.failTimes) throw new Error(`injected failure ${attempt}/${plan.failTimes} of ${entityId}#${seq}`);
    if (lease) {
      const write = await this.locks.applyIfCurrent(entityType, entityId, lease.token, {
        key: effectKey(this.s.keyPrefix, entityType, entityId),
        op: 'rpush',
        value: `${seq}|${jobId}|${attempt}|${this.s.nodeId}|${lease.token}`,
      });
      this.recorder?.recordEffect({
        nodeId: this.s.nodeId,
        workerName,
        queueName,
        jobId,
        attempt,
        fencingToken: lease.token,
        applied: write.applied,
        // the server's time of the write: a SIGSTOP between the write and this line cannot stretch the execution
        at: write.appliedAt ?? Date.now(),
      });
      if (!write.applied) await this.giveBack(instance, job, write.latestToken);
    }
    return `done ${entityId}#${seq}`;
  }

  /**
   * A stale token's write was rejected: a newer owner exists, so this instance stops for good and the job, whose
   * effect did not happen, goes back to the head of its queue for that owner (BullMQ's moveToWait + WaitingError).
   * If its BullMQ lock is gone (it was recovered as stalled) the job is not ours to move: fail this run only.
   */
  private async giveBack(instance: WorkerInstance, job: Job<WorkData>, latestToken: number): Promise<never> {
    const why = `write with token ${instance.lease!.token} rejected (latest ${latestToken})`;
    instance.lease!.markLost(why);
    try {
      await job.moveToWait(job.token);
    } catch (error) {
      throw new Error(`${why}; job ${job.id} not moved back: ${String(error)}`);
    }
    throw new WaitingError(`${why}; job ${job.id} moved back to wait`);
  }
}

async function main(): Promise<void> {
  exitWithParent();
  const s = readNodeAppSettings();

  @Module({
    imports: [
      AtomicQueuesModule.forRoot({
        redis: { url: s.redisUrl },
        keyPrefix: s.keyPrefix,
        nodeId: s.nodeId,
        enableCronManager: s.cronIntervalMs > 0,
        cronInterval: Math.max(1, s.cronIntervalMs),
        shutdownTimeoutMs: s.shutdownTimeoutMs,
        workerDefaults: {
          concurrency: s.workerConcurrency,
          heartbeatTTL: s.heartbeatTtlMs / 1000,
          heartbeatInterval: s.heartbeatIntervalMs,
          stalledInterval: s.stalledIntervalMs,
          lockDuration: s.lockDurationMs,
        },
      }),
    ],
  })
  class NodeAppModule {}

  const app = await NestFactory.createApplicationContext(NodeAppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  const runtime = new NodeRuntime(s, app.get(QueueManagerService), app.get(WorkerManagerService), app.get(ResourceLockService));
  // Registered before the first tick (the cron starts on bootstrap, its first tick is one interval later).
  app.get(CronManagerService).registerEntityType({
    entityType: s.entityType,
    onSpawnWorker: (entityId) => runtime.spawn(entityId),
  });
  await app.init();
  console.log(`${READY_MARKER} ${s.nodeId} pid=${process.pid}`);
  onCommand('race', async ([at]) => {
    const when = Number(at);
    if (!Number.isFinite(when)) throw new Error(`race command needs an epoch ms, got "${at}"`);
    await sleep(Math.max(0, when - Date.now()));
    await Promise.all(s.raceEntities.map((id) => runtime.spawn(id)));
  });
}

/** Runs `handler` for every stdin line `<name> <args…>` (commands from the launcher's NodeHandle.send). */
function onCommand(name: string, handler: (args: string[]) => Promise<void>): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command !== name) return;
    handler(args).catch((error: unknown) => console.error(`command "${line}" failed: ${String(error)}`));
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
