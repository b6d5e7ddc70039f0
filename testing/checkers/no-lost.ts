import { entityKey, type EnqueuedJob, type JobExecution } from '../history.js';
import {
  assertResult,
  countKinds,
  describeExecution,
  formatReport,
  isSuccess,
  JobIndex,
  type AssertOptions,
  type CheckResult,
} from './common.js';

export interface NoLostOptions {
  /** jobIds whose duplicates are expected (e.g. in flight when a fault hit): their entries get `allowed: true`. */
  duplicatesAllowedFor?: ReadonlySet<string>;
  /** Count duplicates not in `duplicatesAllowedFor` as violations (default false: Jepsen's at-least-once stance). */
  strictDuplicates?: boolean;
  /**
   * Why an enqueued job that never completed is not lost, or undefined when it is: e.g. it failed for good (its
   * retries ran out) or a test removed it on purpose. Such jobs are listed in `excused`, not in `lost`.
   */
  excuse?: (job: EnqueuedJob, attempts: readonly JobExecution[]) => string | undefined;
}

export interface ExcusedJob {
  entity: string;
  job: EnqueuedJob;
  attempts: JobExecution[];
  /** What `excuse` answered. */
  reason: string;
}

export interface LostJob {
  kind: 'lost';
  entity: string;
  job: EnqueuedJob;
  /** Attempts seen for it (all failed, crashed or rejected), [] when it never ran. */
  attempts: JobExecution[];
  message: string;
}

export interface UnexpectedJob {
  kind: 'unexpected';
  entity: string;
  jobId: string;
  executions: JobExecution[];
  message: string;
}

export interface DuplicatedJob {
  kind: 'duplicated';
  entity: string;
  jobId: string;
  /** Successful executions beyond the number of times the job was enqueued. */
  extra: number;
  executions: JobExecution[];
  allowed: boolean;
  message: string;
}

export type NoLostViolation = LostJob | UnexpectedJob | DuplicatedJob;

interface JobRecord {
  first?: EnqueuedJob;
  adds: number;
  /** Enqueues whose status is 'ok' (not 'unknown'). */
  okAdds: number;
  tried: number;
  successes: number;
  firstSuccess?: JobExecution;
  /** Executions kept for the report of a lost (its attempts), duplicated or unexpected (its successes) job. */
  detail?: JobExecution[];
}

export interface NoLostStats {
  enqueued: number;
  /** Enqueues with status 'unknown'. */
  unknown: number;
  /** Distinct jobs completed at least once (applied). */
  completed: number;
  lost: number;
  /** Never completed, not lost according to `excuse`. */
  excused: number;
  unexpected: number;
  duplicated: number;
  duplicatedAllowed: number;
  recovered: number;
  /** Completed executions whose effect a fencing sink rejected (not counted as completions). */
  rejected: number;
}

export interface NoLostResult extends CheckResult<NoLostViolation, NoLostStats> {
  lost: LostJob[];
  excused: ExcusedJob[];
  unexpected: UnexpectedJob[];
  duplicated: DuplicatedJob[];
  /** Enqueues with status 'unknown' that completed anyway. */
  recovered: EnqueuedJob[];
}

/**
 * Jepsen total-queue for a drained run. Jobs are identified by entity + jobId. A job completes when an execution
 * has outcome 'completed' and applied !== false.
 * - lost: enqueued with status 'ok' (default) and never completed;
 * - unexpected: completed but never enqueued;
 * - duplicated: completed more times than enqueued (reported; a violation only with `strictDuplicates`);
 * - recovered: enqueued with status 'unknown' and completed.
 * ok = no lost and no unexpected (and no disallowed duplicates when strict). O(n).
 */
export function checkNoLostOrDuplicated(
  enqueued: readonly EnqueuedJob[],
  history: readonly JobExecution[],
  options: NoLostOptions = {},
): NoLostResult {
  const jobs = new JobIndex<JobRecord>(() => ({ adds: 0, okAdds: 0, tried: 0, successes: 0 }));
  let unknown = 0;
  for (const job of enqueued) {
    const record = jobs.get(job);
    record.first ??= job;
    record.adds++;
    if (job.status !== 'unknown') record.okAdds++;
    else unknown++;
  }
  let rejected = 0;
  for (const e of history) {
    const record = jobs.get(e);
    record.tried++;
    if (isSuccess(e)) {
      record.successes++;
      record.firstSuccess ??= e;
    } else if (e.outcome === 'completed' && e.applied === false) rejected++;
  }
  // Only the few suspicious jobs keep their executions (for the messages): a second pass, no per-job arrays.
  const suspicious = (r: JobRecord) =>
    (r.successes === 0 && r.okAdds > 0 && r.tried > 0) || (r.adds > 0 && r.successes > r.adds) || (r.adds === 0 && r.successes > 0);
  for (const record of jobs.values()) if (suspicious(record)) record.detail = [];
  for (const e of history) {
    const record = jobs.get(e);
    if (record.detail && (record.successes === 0 || isSuccess(e))) record.detail.push(e);
  }

  const lost: LostJob[] = [];
  const excused: ExcusedJob[] = [];
  const recovered: EnqueuedJob[] = [];
  const unexpected: UnexpectedJob[] = [];
  const duplicated: DuplicatedJob[] = [];
  let completed = 0;
  for (const record of jobs.values()) {
    const executions = record.detail ?? [];
    if (record.successes === 0) {
      if (record.okAdds === 0) continue;
      const job = record.first!;
      const entity = entityKey(job);
      const reason = options.excuse?.(job, executions);
      if (reason !== undefined) {
        excused.push({ entity, job, attempts: executions, reason });
        continue;
      }
      const why =
        executions.length === 0 ? 'never ran' : `never completed; attempts: ${executions.map(describeExecution).join('; ')}`;
      lost.push({ kind: 'lost', entity, job, attempts: executions, message: `lost: ${entity} job ${job.jobId} seq ${job.seq} ${why}` });
      continue;
    }
    completed++;
    const first = record.firstSuccess!;
    const entity = entityKey(first);
    if (record.adds === 0) {
      unexpected.push({
        kind: 'unexpected',
        entity,
        jobId: first.jobId,
        executions,
        message: `unexpected: ${describeExecution(first)} completed but was never enqueued`,
      });
      continue;
    }
    if (record.okAdds === 0) recovered.push(record.first!);
    if (record.successes > record.adds) {
      const allowed = options.duplicatesAllowedFor?.has(first.jobId) ?? false;
      duplicated.push({
        kind: 'duplicated',
        entity,
        jobId: first.jobId,
        extra: record.successes - record.adds,
        executions,
        allowed,
        message:
          `duplicated${allowed ? ' (allowed)' : ''}: ${entity} job ${first.jobId} completed ${record.successes}× ` +
          `(enqueued ${record.adds}×): ${executions.map(describeExecution).join('; ')}`,
      });
    }
  }

  const disallowed = options.strictDuplicates ? duplicated.filter((d) => !d.allowed) : [];
  const violations: NoLostViolation[] = [...lost, ...unexpected, ...disallowed];
  return {
    ok: violations.length === 0,
    violations,
    lost,
    excused,
    unexpected,
    duplicated,
    recovered,
    stats: {
      enqueued: enqueued.length,
      unknown,
      completed,
      lost: lost.length,
      excused: excused.length,
      unexpected: unexpected.length,
      duplicated: duplicated.length,
      duplicatedAllowed: duplicated.filter((d) => d.allowed).length,
      recovered: recovered.length,
      rejected,
    },
  };
}

export function formatNoLostResult(result: NoLostResult, maxListed?: number): string {
  const s = result.stats;
  const counts =
    `${s.enqueued} enqueued, ${s.completed} completed, ${s.lost} lost, ${s.excused ? `${s.excused} excused, ` : ''}${s.unexpected} unexpected, ` +
    `${s.duplicated} duplicated (${s.duplicatedAllowed} allowed), ${s.recovered} recovered`;
  const headline = result.ok
    ? `no lost or unexpected jobs: ${counts}`
    : `lost/unexpected jobs: ${countKinds(result.violations)} — ${counts}`;
  // Violations first, then the tolerated duplicates and excused jobs, so the message explains what failed before
  // what was allowed.
  const tolerated = result.duplicated.filter((d) => !result.violations.includes(d)).map((d) => d.message);
  const excused = result.excused.map((x) => `excused (${x.reason}): ${x.entity} job ${x.job.jobId} seq ${x.job.seq}`);
  return formatReport(headline, [...result.violations.map((v) => v.message), ...tolerated, ...excused], maxListed);
}

export function assertNoLostOrDuplicated(
  enqueued: readonly EnqueuedJob[],
  history: readonly JobExecution[],
  options: NoLostOptions & AssertOptions = {},
): NoLostResult {
  return assertResult(checkNoLostOrDuplicated(enqueued, history, options), formatNoLostResult, options.maxListed);
}
