import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Job } from 'bullmq';
import {
  AtomicQueuesModule,
  CronManagerService,
  QueueManagerService,
  ResourceLockService,
  WorkerManagerService,
  entityWorkerName,
  type JobLifecycleEvent,
} from '@nestjs/atomic-queues';
import { JsonlHistoryRecorder } from '@nestjs/atomic-queues/testing';
import { exitWithParent } from './env.js';
import { READY_MARKER } from './launcher.js';
import { jobPlan, readNodeAppSettings, type NodeAppSettings } from './settings.js';

/**
 * One cluster node: AtomicQueuesModule from the environment (see settings.ts), the cron spawning one worker
 * per entity with pending jobs, a processor that sleeps / fails per the job rules and (with AQ_FENCING) applies
 * its effect through a fencing-token check, and a JSONL history of every attempt. Prints AQ_READY when up;
 * SIGTERM runs the module's graceful shutdown.
 */

interface WorkData {
  entityType: string;
  entityId: string;
  seq?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Redis list each entity's applied effects go to (checked by chaos suites against the history). */
export const effectKey = (keyPrefix: string, entityType: string, entityId: string): string =>
  `${keyPrefix}:chaos:effects:${entityType}:${entityId}`;

/**
 * One worker instance (one createWorker call). With AQ_FENCING its fencing token is taken once, on its first job,
 * from the entity's lock: a takeover worker gets a newer one, so every write of a paused or zombie instance that
 * resumes later (including jobs it fetched again) carries a stale token and is rejected.
 */
interface Lease {
  workerName: string;
  queueName: string;
  token?: Promise<number>;
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

  async spawn(entityId: string): Promise<void> {
    const { entityType } = this.s;
    const queue = await this.queues.getOrCreateEntityQueue(entityType, entityId);
    const workerName = entityWorkerName(entityType, entityId);
    const lease: Lease = { workerName, queueName: queue.name };
    const result = await this.workers.createWorker({
      workerName,
      queueName: queue.name,
      entity: { entityType, entityId },
      processor: (job: Job<WorkData>) => this.process(lease, job),
      events: { onClosed: (name, reason) => console.log(`AQ_WORKER_CLOSED ${name} reason=${reason}`) },
    });
    console.log(`AQ_CREATE_WORKER ${workerName} created=${result.created} owner=${result.created ? result.nodeId : result.owner}`);
  }

  private async process(lease: Lease, job: Job<WorkData>): Promise<string> {
    const { workerName, queueName } = lease;
    const { entityType, entityId, seq } = job.data;
    const jobId = String(job.id);
    const attempt = this.attempts.get(jobId) ?? job.attemptsMade + 1;
    const plan = jobPlan(this.s.jobRules, entityId, seq, this.s.jobMs);
    const token = this.s.fencing ? await this.fencingToken(lease, entityType, entityId) : undefined;
    await sleep(plan.delayMs);
    if (attempt <= plan.failTimes) throw new Error(`injected failure ${attempt}/${plan.failTimes} of ${entityId}#${seq}`);
    if (token !== undefined) {
      const write = await this.locks.applyIfCurrent(entityType, entityId, token, {
        key: effectKey(this.s.keyPrefix, entityType, entityId),
        op: 'rpush',
        value: `${seq}|${jobId}|${attempt}|${this.s.nodeId}|${token}`,
      });
      this.recorder?.recordEffect({
        nodeId: this.s.nodeId,
        workerName,
        queueName,
        jobId,
        attempt,
        fencingToken: token,
        applied: write.applied,
        at: Date.now(),
      });
    }
    return `done ${entityId}#${seq}`;
  }

  private fencingToken(lease: Lease, entityType: string, entityId: string): Promise<number> {
    if (!lease.token) {
      const ownerId = `${this.s.nodeId}:${process.pid}:${lease.workerName}:${++this.leaseCount}`;
      lease.token = this.lock(entityType, entityId, ownerId).then((token) => {
        if (this.s.logJobs) console.log(`AQ_LEASE ${lease.workerName} token=${token}`);
        return token;
      });
      lease.token.catch(() => (lease.token = undefined));
    }
    return lease.token;
  }

  /** Waits for the entity's lock (a previous holder's lock expires after its TTL) and returns its fencing token. */
  private async lock(entityType: string, entityId: string, ownerId: string): Promise<number> {
    const deadline = Date.now() + this.s.lockTtlSeconds * 1000 * 5;
    for (;;) {
      const got = await this.locks.acquireLock(entityType, entityId, ownerId, this.s.nodeId, this.s.lockTtlSeconds);
      if (got.acquired) return got.fencingToken!;
      if (Date.now() > deadline) throw new Error(`lock ${entityType}/${entityId} still held by ${got.owner?.ownerType}/${got.owner?.ownerId}`);
      await sleep(50);
    }
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
