import {
  entityKey,
  type EnqueuedJob,
  type JobExecution,
  type OverlapViolation,
  type SingleWorkerResult,
} from '@nestjs/atomic-queues/testing';

/**
 * Numbers the chaos report derives from a run's history, beside the shared checkers: a throughput/error
 * timeline, the jobs in flight during the fault (their duplicates are allowed) and the time to recover.
 */
export interface TimelineBucket {
  /** Bucket start, ms since the run's load started. */
  t: number;
  /** Executions that completed with their effect applied. */
  completed: number;
  /** Attempts that threw (other than a rejected write). */
  failed: number;
  /** Attempts whose executor died (no end recorded), counted at their start. */
  crashed: number;
  /** Attempts whose late write the fencing sink rejected (the node then gives the job back: outcome 'failed'). */
  rejected: number;
  /** Producer adds that failed with an unknown outcome, counted at the time they were given up. */
  addErrors: number;
}

/** Attempts that ended with their write rejected by the fencing sink (whatever the processor did next). */
export const rejectedWrites = (history: readonly JobExecution[]): number =>
  history.filter((e) => e.applied === false && e.end !== undefined && e.outcome !== 'crashed' && e.outcome !== 'running').length;

export function buildTimeline(
  history: readonly JobExecution[],
  startedAt: number,
  endedAt: number,
  bucketMs: number,
  enqueued: readonly EnqueuedJob[] = [],
): TimelineBucket[] {
  if (!(bucketMs > 0)) throw new Error(`buildTimeline: bucketMs=${bucketMs} is invalid; accepted values: a number > 0`);
  const count = Math.max(1, Math.ceil((endedAt - startedAt) / bucketMs));
  const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({ t: i * bucketMs, completed: 0, failed: 0, crashed: 0, rejected: 0, addErrors: 0 }));
  const at = (time: number): TimelineBucket | undefined => buckets[Math.floor((time - startedAt) / bucketMs)];
  for (const e of history) {
    if (e.outcome === 'crashed' || e.outcome === 'running' || e.end === undefined) {
      if (e.outcome === 'crashed') {
        const b = at(e.start);
        if (b) b.crashed++;
      }
      continue;
    }
    const b = at(e.end);
    if (!b) continue;
    if (e.applied === false) b.rejected++;
    else if (e.outcome === 'failed') b.failed++;
    else b.completed++;
  }
  for (const j of enqueued) {
    if (j.status !== 'unknown' || j.at === undefined) continue;
    const b = at(j.at);
    if (b) b.addErrors++;
  }
  return buckets;
}

/**
 * jobIds with an execution in flight at some moment of [from, to] (an execution without end counts as running
 * until the end of time). Their duplicates are the at-least-once re-runs the contract allows.
 */
export function jobsInFlightDuring(history: readonly JobExecution[], from: number, to: number): Set<string> {
  const ids = new Set<string>();
  for (const e of history) if (e.start <= to && (e.end ?? Infinity) >= from) ids.add(e.jobId);
  return ids;
}

export interface Recovery {
  /** Longest time from the heal until an entity that had work pending at the heal completed a job again. */
  ms: number | null;
  /** Entities with work pending at the heal. */
  pendingEntities: number;
  /** Of those, entities that never completed a job after the heal. */
  unrecovered: number;
}

/**
 * Recovery after heal: for every entity with an acknowledged job not yet completed at `healedAt`, the time from
 * `healedAt` to its first applied completion after it; the maximum over those entities. Enqueues without an `at`
 * time are ignored (the pending state at heal is unknown).
 */
export function recoveryAfterHeal(enqueued: readonly EnqueuedJob[], history: readonly JobExecution[], healedAt: number): Recovery {
  const doneBefore = new Set<string>();
  const firstAfter = new Map<string, number>();
  for (const e of history) {
    if (e.outcome !== 'completed' || e.applied === false || e.end === undefined) continue;
    if (e.end <= healedAt) doneBefore.add(`${entityKey(e)}#${e.jobId}`);
    else {
      const key = entityKey(e);
      const prev = firstAfter.get(key);
      if (prev === undefined || e.end < prev) firstAfter.set(key, e.end);
    }
  }
  const pending = new Set<string>();
  for (const j of enqueued) {
    if (j.at === undefined || j.at > healedAt) continue;
    if (!doneBefore.has(`${entityKey(j)}#${j.jobId}`)) pending.add(entityKey(j));
  }
  let ms: number | null = null;
  let unrecovered = 0;
  for (const key of pending) {
    const end = firstAfter.get(key);
    if (end === undefined) unrecovered++;
    else ms = Math.max(ms ?? 0, end - healedAt);
  }
  return { ms: pending.size === 0 ? 0 : ms, pendingEntities: pending.size, unrecovered };
}

/** Errors of a bucket as the report draws them: failed, crashed, rejected writes and failed adds. */
export const bucketErrors = (b: TimelineBucket): number => b.failed + b.crashed + b.rejected + b.addErrors;

/**
 * Diagnostic for overlapping applied executions (checkSingleWorkerPerEntity with onlyApplied): pairs where the
 * execution that started first holds the *newer* fencing token — a stale holder (paused, partitioned) that took
 * its token only after the takeover, so the sink accepted its late write. Counted among the listed pairs.
 */
export function staleTokenOverlaps(result: SingleWorkerResult): number {
  const stale = (v: OverlapViolation) =>
    v.running.fencingToken !== undefined && v.execution.fencingToken !== undefined && v.running.fencingToken > v.execution.fencingToken;
  return result.violations.filter(stale).length;
}
