import { checkFifoPerEntity } from '../checkers/fifo.js';
import { combineChecks, type HistoryCheckResult } from '../checkers/history-check.js';
import { checkNoLostOrDuplicated } from '../checkers/no-lost.js';
import { checkSingleWorkerPerEntity } from '../checkers/single-worker.js';
import { entityKey, type EnqueuedJob, type JobExecution } from '../history.js';

/** Where a job that never completed ended up, as the harness sees it in the store. */
export type JobFate =
  | { kind: 'pending'; state: string }
  | { kind: 'failed'; reason?: string }
  | { kind: 'removed'; how: string }
  | { kind: 'gone' };

export interface HarnessRun {
  /** Every add, in add order (`harness.enqueued()`). */
  enqueued: readonly EnqueuedJob[];
  /** Every attempt (`harness.history()`). */
  history: readonly JobExecution[];
  /** True for queues created for an entity: FIFO and single-worker apply to them only. */
  isEntityQueue(queueName: string): boolean;
  /** Where a job of `queue` that never completed ended up. */
  fate(queueName: string, jobId: string): JobFate;
}

/** Reasons `excuse` gives (see checkNoLostOrDuplicated): prefixes the verify report matches on. */
export const FAILED_FOR_GOOD = 'failed for good';

/**
 * The three checkers over a harness run, judged by what the module promises:
 * - FIFO and single worker per entity on entity queues only (plain queues promise neither), FIFO ranked by add
 *   order; a job that failed for good (its retries ran out, or it stalled out) counts as settled: the next job may
 *   run after it; a job removed on purpose through the queue API before it completed is left out;
 * - no lost job on every queue: a job that never completed is excused when it is still pending (verify reports
 *   those on their own), failed for good, or was removed through the queue API (Queue#remove, drain, clean,
 *   obliterate). A job gone from the store otherwise is lost.
 */
export function checkHarnessRun(run: HarnessRun): HistoryCheckResult {
  const { enqueued, history } = run;
  const queueOf = (job: EnqueuedJob): string => job.queue ?? '';
  const keyOf = (job: EnqueuedJob): string => `${queueOf(job)}\u0000${job.jobId}`;
  const attemptsOf = new Map<string, JobExecution[]>();
  const completed = new Set<string>();
  for (const e of history) {
    const key = `${e.queue}\u0000${e.jobId}`;
    const list = attemptsOf.get(key);
    if (list) list.push(e);
    else attemptsOf.set(key, [e]);
    if (e.outcome === 'completed' && e.applied !== false) completed.add(key);
  }
  /** Why a job that never completed is not lost (see checkNoLostOrDuplicated's `excuse`), or undefined. */
  const excuse = (job: EnqueuedJob, attempts: readonly JobExecution[]): string | undefined => {
    const fate = run.fate(queueOf(job), job.jobId);
    switch (fate.kind) {
      case 'pending':
        return `still ${fate.state}`;
      case 'failed':
        return fate.reason === undefined ? FAILED_FOR_GOOD : `${FAILED_FOR_GOOD}: ${fate.reason}`;
      case 'removed':
        return `removed through the queue API (${fate.how})`;
      case 'gone':
        // removeOnFail deletes a job whose last attempt failed: it failed for good, it was not lost.
        return attempts.at(-1)?.outcome === 'failed' ? `${FAILED_FOR_GOOD} (removed on fail)` : undefined;
    }
  };

  const unfinished = enqueued.filter((job) => !completed.has(keyOf(job)));
  const removed = new Set(unfinished.filter((job) => run.fate(queueOf(job), job.jobId).kind === 'removed').map(keyOf));
  const failed = new Set(
    unfinished.filter((job) => excuse(job, attemptsOf.get(keyOf(job)) ?? [])?.startsWith(FAILED_FOR_GOOD)).map((job) => `${entityKey(job)}\u0000${job.jobId}`),
  );
  const entityAdds = enqueued.filter((job) => run.isEntityQueue(queueOf(job)) && !removed.has(keyOf(job)));
  const entityHistory = history.filter((e) => run.isEntityQueue(e.queue));

  const fifo = checkFifoPerEntity(entityHistory, entityAdds, { failedForGood: (job) => failed.has(`${entityKey(job)}\u0000${job.jobId}`) });
  const singleWorker = checkSingleWorkerPerEntity(entityHistory);
  const noLost = checkNoLostOrDuplicated(enqueued, history, { excuse });
  return combineChecks(history, fifo, singleWorker, noLost);
}
