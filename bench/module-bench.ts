import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AtomicQueuesModule, CronManagerService, QueueManagerService, WorkerManagerService } from '@nestjs/atomic-queues';
import type { Job } from 'bullmq';
import { distribution, type Distribution } from '../toolkit/report/stats.js';
import { countdown, peakConnections, pool, throughput, type Throughput } from './common.js';

/** The same workloads through @nestjs/atomic-queues: one entity queue + one worker per entity. */

@Module({})
class BenchModule {
  static forRoot(redisUrl: string, keyPrefix: string, cronInterval: number, heartbeatTTL?: number): DynamicModule {
    return {
      module: BenchModule,
      imports: [
        AtomicQueuesModule.forRoot({
          redis: { url: redisUrl },
          keyPrefix,
          enableCronManager: true,
          cronInterval,
          ...(heartbeatTTL !== undefined ? { workerDefaults: { heartbeatTTL } } : {}),
          queueDefaults: { defaultJobOptions: { removeOnComplete: 100 } },
        }),
      ],
    };
  }
}

export class ModuleBench {
  /** Heartbeats lost by workers (they close themselves; the cron starts a new one). */
  heartbeatLosses = 0;

  private constructor(
    private readonly ctx: INestApplicationContext,
    private readonly redisUrl: string,
    readonly queues: QueueManagerService,
    readonly workers: WorkerManagerService,
    readonly cron: CronManagerService,
  ) {}

  /** `heartbeatTTL` in seconds (module default when omitted). Warnings are not logged: heartbeat losses are counted. */
  static async start(redisUrl: string, keyPrefix: string, cronInterval: number, heartbeatTTL?: number): Promise<ModuleBench> {
    const ctx = await NestFactory.createApplicationContext(BenchModule.forRoot(redisUrl, keyPrefix, cronInterval, heartbeatTTL), { logger: ['error'] });
    await ctx.init();
    return new ModuleBench(ctx, redisUrl, ctx.get(QueueManagerService), ctx.get(WorkerManagerService), ctx.get(CronManagerService));
  }

  async close(): Promise<void> {
    await this.ctx.close();
  }

  /** Starts the entity's worker unless one is alive somewhere; true when this call started it. */
  private async spawn(entityType: string, entityId: string, processor: (job: Job) => unknown): Promise<boolean> {
    const queue = await this.queues.getOrCreateEntityQueue(entityType, entityId);
    const result = await this.workers.createWorker({
      workerName: `${entityType}-${entityId}-worker`,
      queueName: queue.name,
      processor: async (job) => processor(job),
      events: {
        onClosed: (_name, reason) => {
          if (reason === 'heartbeat-lost') this.heartbeatLosses += 1;
        },
      },
    });
    return result.created;
  }

  /**
   * Registers `entityType` as an app does: the engine's dispatcher starts a worker for each entity with work as
   * soon as it is ready (no cron tick), the cron stays as the safety net.
   */
  private registerEntityType(entityType: string, processorOf: (entityId: string) => (job: Job) => unknown): void {
    this.cron.registerEntityType({
      entityType,
      maxWorkersPerEntity: 1,
      onSpawnWorker: async (entityId: string) => void (await this.spawn(entityType, entityId, processorOf(entityId))),
    });
  }

  private async closeAll(entityType: string, ids: readonly string[]): Promise<void> {
    await pool(ids, 64, (id) => this.workers.closeWorker(`${entityType}-${id}-worker`));
  }

  /**
   * `entities` × `jobsPerEntity` jobs, added first (each entity in order); then every entity's worker is started
   * and the clock runs until all jobs ran. Also checks per-entity order and samples this process's peak Redis connections.
   */
  async entities(
    entityType: string,
    entities: number,
    jobsPerEntity: number,
    timeoutMs: number,
    /** Called when the jobs are in and processing starts (the timed part begins): profilers start there. */
    onStart?: () => void,
  ): Promise<Throughput & { fifoOk: boolean; repeats: number; connections: { total: number; byName: Record<string, number> } }> {
    const ids = Array.from({ length: entities }, (_, i) => `e${i}`);
    await pool(ids, 64, async (id) => {
      const queue = await this.queues.getOrCreateEntityQueue(entityType, id);
      for (let seq = 0; seq < jobsPerEntity; seq += 1) await this.queues.addJob(queue.name, 'bench', { seq });
    });
    const seen = new Map<string, number[]>();
    const progress = countdown(entities * jobsPerEntity, timeoutMs, `module ${entityType}`);
    const processorOf = (id: string) => (job: Job) => {
      (seen.get(id) ?? seen.set(id, []).get(id)!).push((job.data as { seq: number }).seq);
      progress.hit();
    };
    onStart?.();
    const started = performance.now();
    // As an app does: the dispatcher takes every ready entity (up to engine.maxActiveEntitiesPerNode at once).
    this.registerEntityType(entityType, processorOf);
    // Workers connect lazily: sample the connections while the jobs run and keep the peak.
    const peak = peakConnections(this.redisUrl, progress.done);
    await progress.done;
    const result = throughput(entities * jobsPerEntity, performance.now() - started);
    const connections = await peak;
    // A re-run of the job in flight when a heartbeat was lost repeats its seq (at-least-once): counted apart.
    let repeats = 0;
    let fifoOk = true;
    for (const id of ids) {
      const order: number[] = [];
      for (const seq of seen.get(id) ?? []) {
        if (seq === order[order.length - 1]) repeats += 1;
        else order.push(seq);
      }
      if (order.length !== jobsPerEntity || order.some((seq, i) => seq !== i)) fifoOk = false;
    }
    await this.closeAll(entityType, ids);
    return { ...result, fifoOk, repeats, connections };
  }

  /**
   * New-entity latency: a job for a never-seen entity every `spacingMs`; its worker is spawned either by the
   * module's cron (`registerEntityType`) or right after the enqueue (`explicit`). Latency = enqueue call →
   * processor start.
   */
  async newEntityLatency(entityType: string, count: number, spacingMs: number, mode: 'engine' | 'explicit', timeoutMs: number): Promise<Distribution> {
    const enqueuedAt = new Map<string, number>();
    const latencies: number[] = [];
    const progress = countdown(count, timeoutMs, `new-entity latency (${mode})`);
    const processor = (id: string) => () => {
      latencies.push(performance.now() - enqueuedAt.get(id)!);
      progress.hit();
    };
    if (mode === 'engine') this.registerEntityType(entityType, processor);
    const ids = Array.from({ length: count }, (_, i) => `n${i}`);
    const adds: Promise<void>[] = [];
    for (const id of ids) {
      adds.push(
        (async () => {
          enqueuedAt.set(id, performance.now());
          await this.queues.addEntityJob(entityType, id, 'bench', { seq: 0 });
          if (mode === 'explicit' && !(await this.spawn(entityType, id, processor(id)))) throw new Error(`bench: worker of new entity ${id} already alive`);
        })(),
      );
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await Promise.all(adds);
    await progress.done;
    await this.closeAll(entityType, ids);
    return distribution(latencies);
  }

  /**
   * Fairness (P8): entity `hot` gets `hotJobs` jobs and starts; then `coldEntities` never-seen entities get
   * `coldJobs` jobs each, one entity every `spacingMs`, while the hot one still has a backlog. Workers are spawned as
   * in `newEntityLatency` (`mode`). Latency of every cold job = its enqueue call → its processor start.
   * `hotLeftWhenColdDone`: hot jobs still queued when the last cold job started (> 0: the cold ones did not wait for it).
   */
  async fairness(
    entityType: string,
    hotJobs: number,
    coldEntities: number,
    coldJobs: number,
    spacingMs: number,
    mode: 'engine' | 'explicit',
    timeoutMs: number,
  ): Promise<{ cold: Distribution; hotLeftWhenColdDone: number }> {
    const hot = await this.queues.getOrCreateEntityQueue(entityType, 'hot');
    for (let seq = 0; seq < hotJobs; seq += 1) await this.queues.addJob(hot.name, 'bench', { seq });
    const enqueuedAt = new Map<string, number>();
    const latencies: number[] = [];
    let hotDone = 0;
    const progress = countdown(coldEntities * coldJobs, timeoutMs, `fairness cold jobs (${mode})`);
    const hotProgress = countdown(hotJobs, timeoutMs, `fairness hot jobs (${mode})`);
    const processorOf = (id: string) => (job: Job) => {
      if (id === 'hot') {
        hotDone += 1;
        hotProgress.hit();
        return;
      }
      latencies.push(performance.now() - enqueuedAt.get(`${id}#${(job.data as { seq: number }).seq}`)!);
      progress.hit();
    };
    if (mode === 'engine') this.registerEntityType(entityType, processorOf);
    else await this.spawn(entityType, 'hot', processorOf('hot'));
    while (hotDone === 0) await new Promise((r) => setTimeout(r, 5)); // the hot entity is being served
    const ids = Array.from({ length: coldEntities }, (_, i) => `c${i}`);
    const adds: Promise<void>[] = [];
    for (const id of ids) {
      adds.push(
        (async () => {
          for (let seq = 0; seq < coldJobs; seq += 1) {
            enqueuedAt.set(`${id}#${seq}`, performance.now());
            await this.queues.addEntityJob(entityType, id, 'bench', { seq });
          }
          if (mode === 'explicit') await this.spawn(entityType, id, processorOf(id));
        })(),
      );
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await Promise.all(adds);
    await progress.done;
    const hotLeftWhenColdDone = hotJobs - hotDone;
    await hotProgress.done;
    await this.closeAll(entityType, ['hot', ...ids]);
    return { cold: distribution(latencies), hotLeftWhenColdDone };
  }
}
