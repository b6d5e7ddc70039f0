import { Queue, Worker, type Job } from 'bullmq';
import { connectionOf, connectionsOfThisProcess, countdown, throughput, type Throughput } from './common.js';

/** Baselines on plain BullMQ: one queue, one Worker. Jobs are added first; timing covers processing only. */

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
      connections = (await connectionsOfThisProcess(redisUrl)).total;
    }
    await progress.done;
    return { ...throughput(jobs.length, performance.now() - started), connections };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}
