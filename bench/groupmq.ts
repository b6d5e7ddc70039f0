import { Queue, Worker, type ReservedJob } from 'groupmq';
import { Redis } from 'ioredis';
import { distribution, type Distribution } from '../toolkit/report/stats.js';
import { countdown, peakConnections, pool, throughput, type Throughput } from './common.js';

/**
 * The same workloads on groupmq 1.1.0 (per-group FIFO on one Redis structure: a `:ready` sorted set of groups, one
 * active job per group), the library a user would pick instead of per-entity queues when only speed matters.
 * One Queue (its own command connection) and one Worker (one blocking connection) per run; jobs are added first,
 * the clock starts with the Worker, as for raw BullMQ. No-op handlers.
 */

interface SeqData {
  seq: number;
}

export interface GroupmqRun extends Throughput {
  /** Redis connections opened by this run (Queue + Worker), peak while the jobs ran. */
  connections: number;
  /** Jobs that ran before a lower seq of their group, or ran twice, or never ran. */
  fifoViolations: number;
}

/** Client name of every groupmq connection (the Worker's blocking one is a `duplicate()` of the Queue's: same name). */
const CLIENT_NAME = 'bench-groupmq';
const redisOf = (redisUrl: string) => new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: CLIENT_NAME });

/**
 * Adds `jobsPerGroup` jobs to each group, 256 adds in flight; orderMs = (now - jobsPerGroup) + seq (past times, one
 * ms apart) fixes each group's order whatever order the adds reach Redis in, as a producer's timestamps would.
 */
async function fill(queue: Queue<SeqData>, groups: readonly string[], jobsPerGroup: number): Promise<void> {
  const base = Date.now() - jobsPerGroup;
  const adds = groups.flatMap((groupId) => Array.from({ length: jobsPerGroup }, (_, seq) => ({ groupId, seq })));
  await pool(adds, 256, async ({ groupId, seq }) => void (await queue.add({ groupId, data: { seq }, orderMs: base + seq, maxAttempts: 1 })));
}

/** Counts the jobs of each group that did not run exactly once in seq order. */
export function fifoViolations(seen: ReadonlyMap<string, readonly number[]>, groups: readonly string[], jobsPerGroup: number): number {
  let violations = 0;
  for (const groupId of groups) {
    const order = seen.get(groupId) ?? [];
    for (let i = 0; i < Math.max(order.length, jobsPerGroup); i += 1) if (order[i] !== i) violations += 1;
  }
  return violations;
}

/** `groups` × `jobsPerGroup` jobs through one groupmq Worker with `concurrency`. */
export async function groupmqRun(
  redisUrl: string,
  namespace: string,
  groups: number,
  jobsPerGroup: number,
  concurrency: number,
  timeoutMs: number,
): Promise<GroupmqRun> {
  const queue = new Queue<SeqData>({ redis: redisOf(redisUrl), namespace, logger: false });
  const ids = Array.from({ length: groups }, (_, i) => `g${i}`);
  await fill(queue, ids, jobsPerGroup);
  const seen = new Map<string, number[]>();
  const progress = countdown(groups * jobsPerGroup, timeoutMs, `groupmq ${groups}×${jobsPerGroup} concurrency ${concurrency}`);
  const started = performance.now();
  const worker = new Worker<SeqData>({
    queue,
    concurrency,
    handler: async (job: ReservedJob<SeqData>) => {
      (seen.get(job.groupId) ?? seen.set(job.groupId, []).get(job.groupId)!).push(job.data.seq);
      progress.hit();
    },
  });
  try {
    const peak = peakConnections(redisUrl, progress.done, (c) => c.byName[CLIENT_NAME] ?? 0);
    await progress.done;
    const result = throughput(groups * jobsPerGroup, performance.now() - started);
    // counted by client name: other connections of this process (e.g. the module's, closing) are left out
    const connections = (await peak).byName[CLIENT_NAME] ?? 0;
    return { ...result, connections, fifoViolations: fifoViolations(seen, ids, jobsPerGroup) };
  } finally {
    await worker.close(0);
    await queue.close();
  }
}

/** P4 reference: a job for a never-seen group every `spacingMs` on a running Worker; latency = add call → handler start. */
export async function groupmqNewGroupLatency(redisUrl: string, namespace: string, count: number, spacingMs: number, timeoutMs: number): Promise<Distribution> {
  const queue = new Queue<SeqData>({ redis: redisOf(redisUrl), namespace, logger: false });
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  const progress = countdown(count, timeoutMs, 'groupmq new-group latency');
  const worker = new Worker<SeqData>({
    queue,
    concurrency: 50,
    handler: async (job: ReservedJob<SeqData>) => {
      latencies.push(performance.now() - enqueuedAt.get(job.groupId)!);
      progress.hit();
    },
  });
  try {
    await new Promise((r) => setTimeout(r, 200)); // the Worker's blocking connection is up and waiting
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < count; i += 1) {
      const groupId = `n${i}`;
      enqueuedAt.set(groupId, performance.now());
      adds.push(queue.add({ groupId, data: { seq: 0 }, maxAttempts: 1 }));
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await Promise.all(adds);
    await progress.done;
    return distribution(latencies);
  } finally {
    await worker.close(0);
    await queue.close();
  }
}

/**
 * P8 reference: one hot group with `hotJobs` queued, then `coldGroups` groups get `coldJobs` jobs each, one group
 * every `spacingMs` while the hot group is still busy. Latency of every cold job = add call → handler start.
 * `hotLeftWhenColdDone`: hot jobs still queued when the last cold job started.
 */
export async function groupmqFairness(
  redisUrl: string,
  namespace: string,
  hotJobs: number,
  coldGroups: number,
  coldJobs: number,
  spacingMs: number,
  timeoutMs: number,
): Promise<{ cold: Distribution; hotLeftWhenColdDone: number }> {
  const queue = new Queue<SeqData>({ redis: redisOf(redisUrl), namespace, logger: false });
  await fill(queue, ['hot'], hotJobs);
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  let hotDone = 0;
  const progress = countdown(coldGroups * coldJobs, timeoutMs, 'groupmq fairness (cold jobs)');
  const hotProgress = countdown(hotJobs, timeoutMs, 'groupmq fairness (hot jobs)');
  const worker = new Worker<SeqData>({
    queue,
    concurrency: 50,
    handler: async (job: ReservedJob<SeqData>) => {
      if (job.groupId === 'hot') {
        hotDone += 1;
        hotProgress.hit();
      } else {
        latencies.push(performance.now() - enqueuedAt.get(`${job.groupId}#${job.data.seq}`)!);
        progress.hit();
      }
    },
  });
  try {
    while (hotDone === 0) await new Promise((r) => setTimeout(r, 5)); // the hot group is being served
    const adds: Promise<unknown>[] = [];
    for (let g = 0; g < coldGroups; g += 1) {
      const groupId = `c${g}`;
      for (let seq = 0; seq < coldJobs; seq += 1) {
        enqueuedAt.set(`${groupId}#${seq}`, performance.now());
        adds.push(queue.add({ groupId, data: { seq }, maxAttempts: 1 }));
      }
      await new Promise((r) => setTimeout(r, spacingMs));
    }
    await Promise.all(adds);
    await progress.done;
    const hotLeftWhenColdDone = hotJobs - hotDone;
    await hotProgress.done;
    return { cold: distribution(latencies), hotLeftWhenColdDone };
  } finally {
    await worker.close(0);
    await queue.close();
  }
}
