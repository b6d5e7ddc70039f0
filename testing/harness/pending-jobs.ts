import type { InMemoryQueueStore } from '../backend/in-memory-store.js';

/** A job not settled yet (waiting, prioritized, delayed or active) in an in-memory store. */
export interface PendingJob {
  queueName: string;
  state: 'wait' | 'prioritized' | 'delayed' | 'active';
  jobId: string;
  jobName: string;
}

const PENDING_STATES = ['active', 'wait', 'prioritized', 'delayed'] as const;

/** Unsettled jobs of every queue under `prefix` (BullMQ prefix = the module's keyPrefix). */
export function pendingJobs(store: InMemoryQueueStore, prefix: string): PendingJob[] {
  const out: PendingJob[] = [];
  for (const qualified of store.queueNames()) {
    if (!qualified.startsWith(`${prefix}:`)) continue;
    const queue = store.queue(qualified);
    for (const state of PENDING_STATES) {
      for (const jobId of queue.idsInState(state)) {
        out.push({ queueName: qualified.slice(prefix.length + 1), state, jobId, jobName: queue.getJob(jobId)?.name ?? '?' });
      }
    }
  }
  return out;
}

/** `  order-1-queue: 2 wait (a1 validate, a2 pay), 1 active (a0 create)` lines, at most `max` jobs per state. */
export function describePendingJobs(jobs: readonly PendingJob[], max = 5): string {
  const byQueue = new Map<string, PendingJob[]>();
  for (const j of jobs) {
    const list = byQueue.get(j.queueName);
    if (list) list.push(j);
    else byQueue.set(j.queueName, [j]);
  }
  const lines: string[] = [];
  for (const [queueName, list] of byQueue) {
    const parts = PENDING_STATES.flatMap((state) => {
      const of = list.filter((j) => j.state === state);
      if (of.length === 0) return [];
      const shown = of.slice(0, max).map((j) => `${j.jobId} ${j.jobName}`).join(', ');
      return [`${of.length} ${state} (${shown}${of.length > max ? ', …' : ''})`];
    });
    lines.push(`  ${queueName}: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}
