import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { distribution, type Distribution } from '../toolkit/report/stats.js';
import { connectionOf, connectionsOfThisProcess, countdown, peakConnections, pool, throughput, type Throughput } from './common.js';

/** Baselines on plain BullMQ. Jobs are added first; timing covers processing only (Workers start with the clock). */

async function fill(queue: Queue, jobs: Array<{ name: string; data: object }>): Promise<void> {
  for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
}

export interface RawRun extends Throughput {
  connections?: number;
}

export async function rawOneQueue(
  redisUrl: string,
  prefix: string,
  jobs: Array<{ name: string; data: object }>,
  concurrency: number,
  timeoutMs: number,
): Promise<RawRun> {
  const before = (await connectionsOfThisProcess(redisUrl)).total; // e.g. the module's, idle between its runs
  const connection = connectionOf(redisUrl);
  const name = `raw-c${concurrency}`;
  const queue = new Queue(name, { connection, prefix });
  await fill(queue, jobs);
  const progress = countdown(jobs.length, timeoutMs, `raw BullMQ concurrency ${concurrency}`);
  const started = performance.now();
  const worker = new Worker(name, async (_job: Job) => progress.hit(), {
    connection,
    prefix,
    concurrency,
    removeOnComplete: { count: 100 },
  });
  try {
    let connections: number | undefined;
    if (jobs.length > 0) {
      await worker.waitUntilReady();
      connections = (await connectionsOfThisProcess(redisUrl)).total - before;
    }
    await progress.done;
    return { ...throughput(jobs.length, performance.now() - started), connections };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/**
 * The naive per-entity design on plain BullMQ: one queue per entity and one Worker (concurrency 1) per queue, all
 * sharing one command connection (each Worker still opens its own blocking one). No heartbeats, no single-worker
 * claim, no index, no cron: the reference the module's P2 is compared with. `fifoOk`: every entity saw its seqs in order.
 */
export async function rawPerEntity(
  redisUrl: string,
  prefix: string,
  entities: number,
  jobsPerEntity: number,
  timeoutMs: number,
): Promise<RawRun & { fifoOk: boolean }> {
  const before = (await connectionsOfThisProcess(redisUrl)).total;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const names = Array.from({ length: entities }, (_, i) => `naive-e${i}-queue`);
  const queues = names.map((name) => new Queue(name, { connection, prefix }));
  const seen = names.map(() => [] as number[]);
  const jobs = Array.from({ length: jobsPerEntity }, (_, seq) => ({ name: 'bench', data: { seq } }));
  await pool(queues, 64, (queue) => fill(queue, jobs));
  const progress = countdown(entities * jobsPerEntity, timeoutMs, 'raw BullMQ per-entity Workers');
  const started = performance.now();
  const workers = names.map(
    (name, i) =>
      new Worker(
        name,
        async (job: Job) => {
          seen[i]!.push((job.data as { seq: number }).seq);
          progress.hit();
        },
        { connection, prefix, concurrency: 1, removeOnComplete: { count: 100 } },
      ),
  );
  try {
    const peak = peakConnections(redisUrl, progress.done);
    await progress.done;
    const result = throughput(entities * jobsPerEntity, performance.now() - started);
    const connections = (await peak).total - before;
    const fifoOk = seen.every((order) => order.length === jobsPerEntity && order.every((seq, k) => seq === k));
    return { ...result, connections, fifoOk };
  } finally {
    await pool(workers, 64, (w) => w.close());
    await pool(queues, 64, async (q) => void (await q.obliterate({ force: true }).catch(() => undefined)));
    await pool(queues, 64, (q) => q.close());
    connection.disconnect();
  }
}

/** P4 reference: on a running Worker (concurrency 50), a job every `spacingMs`; latency = add call → processor start. */
export async function rawLatency(redisUrl: string, prefix: string, count: number, spacingMs: number, timeoutMs: number): Promise<Distribution> {
  const connection = connectionOf(redisUrl);
  const name = 'raw-latency';
  const queue = new Queue(name, { connection, prefix });
  const enqueuedAt = new Map<number, number>();
  const latencies: number[] = [];
  const progress = countdown(count, timeoutMs, 'raw BullMQ enqueue → start');
  const worker = new Worker(
    name,
    async (job: Job) => {
      latencies.push(performance.now() - enqueuedAt.get((job.data as { seq: number }).seq)!);
      progress.hit();
    },
    { connection, prefix, concurrency: 50, removeOnComplete: { count: 100 } },
  );
  try {
    await worker.waitUntilReady();
    await new Promise((r) => setTimeout(r, 200)); // the blocking connection is waiting for jobs
    const adds: Promise<unknown>[] = [];
    for (let seq = 0; seq < count; seq += 1) {
      enqueuedAt.set(seq, performance.now());
      adds.push(queue.add('bench', { seq }));
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await Promise.all(adds);
    await progress.done;
    return distribution(latencies);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}
