import type { JobExecution } from '../history.js';
import {
  assertResult,
  describeExecution,
  formatReport,
  groupByEntity,
  judgedEnd,
  type AssertOptions,
  type CheckResult,
} from './common.js';

/**
 * How to close executions that have no `end` (outcome 'crashed' or 'running'):
 * - 'exclude' (default): leave them out — the moment the executor died is unknown, so a re-run cannot be blamed;
 * - 'open': treat them as running forever (use for histories where nothing may overlap an unfinished execution);
 * - a function returning the assumed end (e.g. the time the harness SIGKILLed that node, or start + heartbeat TTL),
 *   or undefined to exclude that execution.
 */
export type CrashedEndPolicy = 'exclude' | 'open' | ((execution: JobExecution) => number | undefined);

export interface SingleWorkerOptions {
  /** Only executions whose effect was applied (applied !== false): a zombie rejected by fencing is harmless. */
  onlyApplied?: boolean;
  /**
   * Judge executions by their effect (see `judgedEnd`): an applied execution with a recorded `effectAt` occupies
   * [start, effectAt]. An executor paused after its write landed (SIGSTOP, GC) then does not overlap what its
   * successor ran meanwhile; one whose write landed during its successor's run still does. Needs a sink that
   * records when it took each write (the chaos sink records `applyIfCurrent`'s `appliedAt`).
   */
  endAtEffect?: boolean;
  crashedEnd?: CrashedEndPolicy;
  /** At most this many overlapping pairs are kept in `violations` (default 1000); all are counted in stats. */
  maxPairs?: number;
}

export interface OverlapViolation {
  kind: 'overlap';
  entity: string;
  /** The execution that started while `running` had not ended yet (`running.start <= execution.start < running.end`). */
  execution: JobExecution;
  running: JobExecution;
  message: string;
}

export interface SingleWorkerStats {
  entities: number;
  /** Executions compared (after the onlyApplied / crashedEnd filters). */
  checked: number;
  excludedOpen: number;
  excludedNotApplied: number;
  overlappingPairs: number;
  /** Highest number of executions of one entity in flight at the same instant. */
  maxConcurrency: number;
}

export type SingleWorkerResult = CheckResult<OverlapViolation, SingleWorkerStats>;

interface Interval {
  e: JobExecution;
  end: number;
}

/** Binary min-heap of intervals by end. */
class EndHeap {
  readonly items: Interval[] = [];
  push(x: Interval): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]!.end <= a[i]!.end) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  peek(): Interval | undefined {
    return this.items[0];
  }
  pop(): void {
    const a = this.items;
    const last = a.pop()!;
    if (a.length === 0) return;
    a[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.end < a[m]!.end) m = l;
      if (r < a.length && a[r]!.end < a[m]!.end) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}

function closedEnd(e: JobExecution, policy: CrashedEndPolicy, endAtEffect: boolean | undefined): number | undefined {
  const end = judgedEnd(e, endAtEffect);
  if (end !== undefined) return end;
  if (policy === 'exclude') return undefined;
  if (policy === 'open') return Infinity;
  return policy(e);
}

/**
 * No two executions of one entity overlap in time: intervals are [start, end) so a job may start at the very
 * millisecond the previous one ended. Reports every overlapping pair (up to `maxPairs`). O(n log n + pairs kept).
 */
export function checkSingleWorkerPerEntity(
  history: readonly JobExecution[],
  options: SingleWorkerOptions = {},
): SingleWorkerResult {
  const policy = options.crashedEnd ?? 'exclude';
  const maxPairs = options.maxPairs ?? 1000;
  const stats: SingleWorkerStats = { entities: 0, checked: 0, excludedOpen: 0, excludedNotApplied: 0, overlappingPairs: 0, maxConcurrency: 0 };
  const violations: OverlapViolation[] = [];
  for (const [entity, executions] of groupByEntity(history)) {
    stats.entities++;
    const intervals: Interval[] = [];
    for (const e of executions) {
      if (options.onlyApplied && e.applied === false) {
        stats.excludedNotApplied++;
        continue;
      }
      const end = closedEnd(e, policy, options.endAtEffect);
      if (end === undefined) stats.excludedOpen++;
      else intervals.push({ e, end });
    }
    stats.checked += intervals.length;
    intervals.sort((a, b) => a.e.start - b.e.start || a.end - b.end);
    const active = new EndHeap();
    for (const cur of intervals) {
      while (active.peek() && active.peek()!.end <= cur.e.start) active.pop();
      stats.overlappingPairs += active.items.length;
      for (const running of active.items) {
        if (violations.length >= maxPairs) break;
        violations.push({
          kind: 'overlap',
          entity,
          execution: cur.e,
          running: running.e,
          message: `${describeExecution(cur.e)} overlaps ${describeExecution(running.e)}`,
        });
      }
      // A zero-length execution occupies no time: it can neither overlap later ones nor count as in flight.
      const occupiesTime = cur.end > cur.e.start;
      if (occupiesTime) active.push(cur);
      stats.maxConcurrency = Math.max(stats.maxConcurrency, active.items.length + (occupiesTime ? 0 : 1));
    }
  }
  return { ok: stats.overlappingPairs === 0, violations, stats };
}

export function formatSingleWorkerResult(result: SingleWorkerResult, maxListed?: number): string {
  const { stats } = result;
  const headline = result.ok
    ? `single worker per entity OK: ${stats.checked} executions over ${stats.entities} entities`
    : `single worker per entity violated: ${stats.overlappingPairs} overlapping pairs, up to ${stats.maxConcurrency} executions of one entity at once (${stats.checked} executions over ${stats.entities} entities)`;
  return formatReport(headline, result.violations.map((v) => v.message), maxListed);
}

export function assertSingleWorkerPerEntity(
  history: readonly JobExecution[],
  options: SingleWorkerOptions & AssertOptions = {},
): SingleWorkerResult {
  return assertResult(checkSingleWorkerPerEntity(history, options), formatSingleWorkerResult, options.maxListed);
}
