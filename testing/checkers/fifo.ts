import type { EnqueuedJob, JobExecution } from '../history.js';
import {
  assertResult,
  countKinds,
  describeExecution,
  formatReport,
  groupByEntity,
  isSuccess,
  judgedEnd,
  type AssertOptions,
  type CheckResult,
} from './common.js';

/**
 * - `nonmonotonic`: an execution of an earlier job started after a later job of the entity had started
 *   (reordering, a retry of A after B started, a re-run of a crashed A after B started).
 * - `early-start`: a later job started while an execution of an earlier job was still running (start < its end, or
 *   its effect time with `endAtEffect`).
 * - `skip`: a later job ran although an earlier job never completed (Kafka poll-skip); with `seq` ranking, a gap
 *   in the executed sequence numbers. An enqueue with status 'unknown' that never ran is not a skip (it may never
 *   have reached the queue).
 * - `unranked`: neither `enqueued` nor the execution's `seq` gives the job a position: it cannot be checked.
 * - `duplicate-seq`: two different jobIds of one entity carry the same `seq` (seq ranking only).
 */
export type FifoViolationKind = 'nonmonotonic' | 'early-start' | 'skip' | 'unranked' | 'duplicate-seq';

export interface FifoViolation {
  kind: FifoViolationKind;
  /** Entity key `entityType/entityId`. */
  entity: string;
  /** The execution that broke the order (for `skip`: the first execution of a later job). */
  execution?: JobExecution;
  /** The execution it conflicts with: the later job already started (`nonmonotonic`), the earlier job still running (`early-start`). */
  other?: JobExecution;
  /** `skip`: the job(s) that never completed, e.g. `job j1 seq 1`, or `seq 3..5` for a gap; `duplicate-seq`: `seq N`. */
  skipped?: string;
  message: string;
}

export interface FifoStats {
  entities: number;
  executions: number;
  /** Executions ordered and checked (applied !== false, with a rank). */
  checked: number;
  /** Executions ignored because a fencing sink rejected their effect (applied === false). */
  rejected: number;
  /** Executions of jobs absent from `enqueued` (reported by checkNoLostOrDuplicated as unexpected). */
  unknownJobs: number;
  /** Executions of jobs enqueued out of line (`unordered`: delay, priority, LIFO): not ordered against the others. */
  unordered: number;
}

export interface FifoOptions {
  /**
   * Accept a job whose attempts all failed (dead-lettered after its last retry) as settled, so later jobs may
   * run after it. Default false: a later job running after an earlier job that never completed is a `skip`.
   */
  allowFinalFailures?: boolean;
  /**
   * Jobs known to have failed for good, e.g. from the queue's final state (a job that stalled out has no failed
   * attempt): settled, so later jobs may run after them. Precise where `allowFinalFailures` is a blanket rule.
   */
  failedForGood?: (job: { entityType: string; entityId: string; jobId: string }) => boolean;
  /**
   * Judge executions by their effect (see `judgedEnd`): an applied execution with a recorded `effectAt` is over at
   * that time, so a later job may start after it even if the earlier executor was paused before it could finish.
   */
  endAtEffect?: boolean;
}

export type FifoResult = CheckResult<FifoViolation, FifoStats>;

interface Ended {
  e: JobExecution;
  end: number;
}

/** Prefix maximum of execution ends over ranks 0..i (Fenwick tree), O(log n) per operation. */
class PrefixMaxEnd {
  private readonly tree: (Ended | undefined)[];
  constructor(size: number) {
    this.tree = new Array<Ended | undefined>(size + 1);
  }
  add(rank: number, e: JobExecution, end: number | undefined): void {
    if (end === undefined) return;
    for (let i = rank + 1; i < this.tree.length; i += i & -i) {
      const cur = this.tree[i];
      if (!cur || cur.end < end) this.tree[i] = { e, end };
    }
  }
  /** Execution with the latest end among ranks < rank. */
  below(rank: number): Ended | undefined {
    let best: Ended | undefined;
    for (let i = rank; i > 0; i -= i & -i) {
      const cur = this.tree[i];
      if (cur && (!best || cur.end > best.end)) best = cur;
    }
    return best;
  }
}

interface Ranking {
  /** 'enqueued': jobs absent from `enqueued` are unknown; 'seq': executions without seq are unranked. */
  mode: 'enqueued' | 'seq';
  /** rank of an execution, undefined when unknown. */
  rankOf(e: JobExecution): number | undefined;
  size: number;
  /** Human name of the job at a rank (for skips). */
  label(rank: number): string;
  /** jobId at a rank. */
  jobId(rank: number): string | undefined;
  /** True when the job at a rank may legitimately never run (every add of it had status 'unknown'). */
  optional(rank: number): boolean;
  /** True for a job enqueued out of line (`unordered`): it has no rank. */
  unordered(e: JobExecution): boolean;
  violations: FifoViolation[];
}

function rankingFromEnqueued(enqueued: readonly EnqueuedJob[]): Ranking {
  const ranks = new Map<string, number>();
  const jobs: EnqueuedJob[] = [];
  const known: boolean[] = [];
  const unordered = new Set<string>();
  for (const job of enqueued) {
    if (job.unordered !== undefined || unordered.has(job.jobId)) {
      if (!ranks.has(job.jobId)) unordered.add(job.jobId);
      continue;
    }
    const rank = ranks.get(job.jobId);
    if (rank !== undefined) {
      known[rank] ||= job.status !== 'unknown';
      continue;
    }
    ranks.set(job.jobId, jobs.length);
    known.push(job.status !== 'unknown');
    jobs.push(job);
  }
  const label = (r: number) => `job ${jobs[r]!.jobId} seq ${jobs[r]!.seq}`;
  return {
    mode: 'enqueued',
    rankOf: (e) => ranks.get(e.jobId),
    size: jobs.length,
    label,
    jobId: (r) => jobs[r]?.jobId,
    optional: (r) => !known[r],
    unordered: (e) => unordered.has(e.jobId),
    violations: [],
  };
}

function rankingFromSeq(entity: string, executions: readonly JobExecution[]): Ranking {
  const jobBySeq = new Map<number, string>();
  const violations: FifoViolation[] = [];
  for (const e of executions) {
    if (e.seq === undefined) continue;
    const known = jobBySeq.get(e.seq);
    if (known === undefined) jobBySeq.set(e.seq, e.jobId);
    else if (known !== e.jobId && !violations.some((v) => v.skipped === `seq ${e.seq}`)) {
      violations.push({
        kind: 'duplicate-seq',
        entity,
        execution: e,
        skipped: `seq ${e.seq}`,
        message: `${entity}: seq ${e.seq} is used by two jobs, ${known} and ${e.jobId}`,
      });
    }
  }
  const seqs = [...jobBySeq.keys()].sort((a, b) => a - b);
  const rankBySeq = new Map(seqs.map((s, i) => [s, i]));
  // Gaps in the executed sequence numbers are skips: seq numbers are gap-free per entity by convention.
  for (let i = 1; i < seqs.length; i++) {
    const [prev, next] = [seqs[i - 1]!, seqs[i]!];
    if (next - prev > 1) {
      const missing = next - prev === 2 ? `seq ${prev + 1}` : `seq ${prev + 1}..${next - 1}`;
      violations.push({
        kind: 'skip',
        entity,
        skipped: missing,
        message: `${entity}: ${missing} never ran, but job ${jobBySeq.get(next)} seq ${next} did`,
      });
    }
  }
  return {
    mode: 'seq',
    rankOf: (e) => (e.seq === undefined ? undefined : rankBySeq.get(e.seq)),
    size: seqs.length,
    label: (r) => `job ${jobBySeq.get(seqs[r]!)} seq ${seqs[r]}`,
    jobId: (r) => jobBySeq.get(seqs[r]!),
    optional: () => false,
    unordered: () => false,
    violations,
  };
}

function checkEntity(
  entity: string,
  executions: readonly JobExecution[],
  ranking: Ranking,
  options: FifoOptions,
  stats: FifoStats,
): FifoViolation[] {
  const violations = [...ranking.violations];
  const ranked: { e: JobExecution; rank: number }[] = [];
  for (const e of executions) {
    if (e.applied === false) {
      stats.rejected++;
      continue;
    }
    const rank = ranking.rankOf(e);
    if (rank !== undefined) ranked.push({ e, rank });
    else if (ranking.mode === 'seq') {
      violations.push({ kind: 'unranked', entity, execution: e, message: `cannot order ${describeExecution(e)}: no seq and no enqueued entry` });
    } else if (ranking.unordered(e)) stats.unordered++;
    else stats.unknownJobs++;
  }
  stats.checked += ranked.length;
  ranked.sort((a, b) => a.e.start - b.e.start || a.rank - b.rank || (a.e.end ?? Infinity) - (b.e.end ?? Infinity));

  const ends = new PrefixMaxEnd(ranking.size);
  let latest: { e: JobExecution; rank: number } | undefined;
  const SUCCEEDED = 1;
  const FAILED = 2;
  const status = new Uint8Array(ranking.size);
  const firstStartAtRank = new Array<JobExecution | undefined>(ranking.size);
  for (const cur of ranked) {
    if (latest && cur.rank < latest.rank) {
      violations.push({
        kind: 'nonmonotonic',
        entity,
        execution: cur.e,
        other: latest.e,
        message: `${describeExecution(cur.e)} started after a later job had started: ${describeExecution(latest.e)}`,
      });
    } else {
      const running = ends.below(cur.rank);
      if (running && running.end > cur.e.start) {
        violations.push({
          kind: 'early-start',
          entity,
          execution: cur.e,
          other: running.e,
          message: `${describeExecution(cur.e)} started while an earlier job was still running: ${describeExecution(running.e)}`,
        });
      }
    }
    if (!latest || cur.rank > latest.rank) latest = cur;
    ends.add(cur.rank, cur.e, judgedEnd(cur.e, options.endAtEffect));
    if (isSuccess(cur.e)) status[cur.rank]! |= SUCCEEDED;
    else if (cur.e.outcome === 'failed') status[cur.rank]! |= FAILED;
    firstStartAtRank[cur.rank] ??= cur.e;
  }

  // Skips: every job ranked below the highest executed one must have completed (or failed for good if allowed).
  const ref = executions[0];
  const failedForGood =
    options.failedForGood && ref
      ? (r: number) => {
          const jobId = ranking.jobId(r);
          return jobId !== undefined && options.failedForGood!({ entityType: ref.entityType, entityId: ref.entityId, jobId });
        }
      : undefined;
  if (latest) {
    let firstLater: JobExecution | undefined;
    for (let r = latest.rank; r >= 0; r--) {
      const settled =
        (status[r]! & SUCCEEDED) !== 0 ||
        (options.allowFinalFailures === true && (status[r]! & FAILED) !== 0) ||
        (failedForGood !== undefined && failedForGood(r));
      const ran = firstStartAtRank[r] !== undefined;
      if (firstLater && !settled && (ran || !ranking.optional(r))) {
        const how = ran ? 'never completed' : 'never ran';
        violations.push({
          kind: 'skip',
          entity,
          execution: firstLater,
          skipped: ranking.label(r),
          message: `${entity}: ${ranking.label(r)} ${how}, but a later job ran: ${describeExecution(firstLater)}`,
        });
      }
      const first = firstStartAtRank[r];
      if (first && (!firstLater || first.start <= firstLater.start)) firstLater = first;
    }
  }
  return violations;
}

/**
 * Per-entity FIFO (Kafka-style nonmonotonic / poll-skip detection). Jobs are ordered by their position in
 * `enqueued` (per entity, first occurrence of a jobId) when given, else by `seq`. Jobs enqueued out of line
 * (`unordered`: a delay, a priority, LIFO) have no rank: their executions are counted in `stats.unordered`, not
 * judged. Executions with `applied === false` are ignored (a fencing sink rejected them). At-least-once re-runs of a job (crashed,
 * failed, or duplicated) are fine as long as they start before any later job starts and end before it starts.
 * O(n log n).
 */
export function checkFifoPerEntity(
  history: readonly JobExecution[],
  enqueued?: readonly EnqueuedJob[],
  options: FifoOptions = {},
): FifoResult {
  const stats: FifoStats = { entities: 0, executions: history.length, checked: 0, rejected: 0, unknownJobs: 0, unordered: 0 };
  const violations: FifoViolation[] = [];
  const enqueuedByEntity = enqueued ? groupByEntity(enqueued) : undefined;
  for (const [entity, executions] of groupByEntity(history)) {
    stats.entities++;
    const ranking = enqueuedByEntity
      ? rankingFromEnqueued(enqueuedByEntity.get(entity) ?? [])
      : rankingFromSeq(entity, executions);
    violations.push(...checkEntity(entity, executions, ranking, options, stats));
  }
  return { ok: violations.length === 0, violations, stats };
}

export function formatFifoResult(result: FifoResult, maxListed?: number): string {
  const { stats, violations } = result;
  const headline = result.ok
    ? `FIFO per entity OK: ${stats.checked} executions over ${stats.entities} entities`
    : `FIFO per entity violated: ${violations.length} violations (${countKinds(violations)}) over ${stats.entities} entities, ${stats.checked} executions checked`;
  return formatReport(headline, violations.map((v) => v.message), maxListed);
}

export function assertFifoPerEntity(
  history: readonly JobExecution[],
  enqueued?: readonly EnqueuedJob[],
  options: FifoOptions & AssertOptions = {},
): FifoResult {
  return assertResult(checkFifoPerEntity(history, enqueued, options), formatFifoResult, options.maxListed);
}
