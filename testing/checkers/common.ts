import { entityKey, type JobExecution } from '../history.js';

/** Every checker returns this shape; `ok` is false exactly when the checker found a violation it counts. */
export interface CheckResult<V, S> {
  ok: boolean;
  violations: V[];
  stats: S;
}

/** Options shared by every `assert…` variant. */
export interface AssertOptions {
  /** How many violations the error message lists (default 10); the rest are counted. */
  maxListed?: number;
}

/** Thrown by the `assert…` variants; carries the structured result for programmatic inspection. */
export class HistoryCheckError<R = unknown> extends Error {
  constructor(
    message: string,
    readonly result: R,
  ) {
    super(message);
    this.name = 'HistoryCheckError';
  }
}

/** What every `assert…` variant does with its checker's result: throw the formatted report unless it is ok. */
export function assertResult<R extends { ok: boolean }>(
  result: R,
  format: (result: R, maxListed?: number) => string,
  maxListed: number | undefined,
): R {
  if (!result.ok) throw new HistoryCheckError(format(result, maxListed), result);
  return result;
}

/** `order/42 job j-7 seq 3 attempt 2 [1000→1040] worker w1@node-a completed` */
export function describeExecution(e: JobExecution): string {
  const seq = e.seq === undefined ? '' : ` seq ${e.seq}`;
  const end = e.end === undefined ? '?' : String(e.end);
  const node = e.node === undefined ? '' : `@${e.node}`;
  const extra = [
    e.applied === false ? 'not applied' : '',
    e.fencingToken === undefined ? '' : `token ${e.fencingToken}`,
    e.error ? `error ${JSON.stringify(e.error)}` : '',
  ].filter(Boolean);
  return (
    `${entityKey(e)} job ${e.jobId}${seq} attempt ${e.attempt} [${e.start}→${end}] ` +
    `worker ${e.worker}${node} ${e.outcome}${extra.length ? ` (${extra.join(', ')})` : ''}`
  );
}

/** Counts by `kind`, e.g. `2 nonmonotonic, 1 skip`. */
export function countKinds(violations: ReadonlyArray<{ kind: string }>): string {
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.kind, (counts.get(v.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

/** Multi-line report: headline, the first `maxListed` lines, then how many were left out. */
export function formatReport(headline: string, lines: readonly string[], maxListed = 10): string {
  const shown = lines.slice(0, maxListed).map((l) => `  - ${l}`);
  const rest = lines.length - shown.length;
  return [headline, ...shown, ...(rest > 0 ? [`  … and ${rest} more`] : [])].join('\n');
}

/** Groups items by entity key, keeping input order inside each group. */
export function groupByEntity<T extends { entityType: string; entityId: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = entityKey(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/**
 * The end a checker compares: with `endAtEffect`, the time of an applied execution's recorded effect (nothing it did
 * after its effect can touch the protected state); otherwise, and without a recorded effect, its end (absent while
 * running or when the executor died).
 */
export const judgedEnd = (e: JobExecution, endAtEffect: boolean | undefined): number | undefined =>
  endAtEffect && e.applied !== false && e.effectAt !== undefined ? e.effectAt : e.end;

/** A successful execution whose effect counts: completed and not rejected by a fencing sink. */
export const isSuccess = (e: JobExecution): boolean => e.outcome === 'completed' && e.applied !== false;

type JobRef = { entityType: string; entityId: string; jobId: string };

/** Per-job records keyed by entityType → entityId → jobId (nested maps: much faster than joined string keys). */
export class JobIndex<T> {
  private readonly byType = new Map<string, Map<string, Map<string, T>>>();

  constructor(private readonly create: () => T) {}

  get(job: JobRef): T {
    let byId = this.byType.get(job.entityType);
    if (!byId) this.byType.set(job.entityType, (byId = new Map()));
    let jobs = byId.get(job.entityId);
    if (!jobs) byId.set(job.entityId, (jobs = new Map()));
    let record = jobs.get(job.jobId);
    if (record === undefined) jobs.set(job.jobId, (record = this.create()));
    return record;
  }

  *values(): IterableIterator<T> {
    for (const byId of this.byType.values()) for (const jobs of byId.values()) yield* jobs.values();
  }
}
