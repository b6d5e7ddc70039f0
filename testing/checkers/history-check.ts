import type { EnqueuedJob, JobExecution } from '../history.js';
import { assertResult, type AssertOptions } from './common.js';
import { checkFifoPerEntity, formatFifoResult, type FifoOptions, type FifoResult } from './fifo.js';
import { checkNoLostOrDuplicated, formatNoLostResult, type NoLostOptions, type NoLostResult } from './no-lost.js';
import {
  checkSingleWorkerPerEntity,
  formatSingleWorkerResult,
  type SingleWorkerOptions,
  type SingleWorkerResult,
} from './single-worker.js';

export interface HistoryCheckOptions {
  fifo?: FifoOptions;
  singleWorker?: SingleWorkerOptions;
  noLost?: NoLostOptions;
  /** Order FIFO by the `enqueued` list (default true) or by each execution's `seq` (false). */
  fifoByEnqueued?: boolean;
}

export interface HistoryCheckResult {
  ok: boolean;
  fifo: FifoResult;
  singleWorker: SingleWorkerResult;
  noLost: NoLostResult;
  stats: {
    entities: number;
    executions: number;
    failed: number;
    crashed: number;
    running: number;
  };
}

/** Runs the three checkers over one drained run. */
export function checkHistory(
  enqueued: readonly EnqueuedJob[],
  history: readonly JobExecution[],
  options: HistoryCheckOptions = {},
): HistoryCheckResult {
  const fifo = checkFifoPerEntity(history, options.fifoByEnqueued === false ? undefined : enqueued, options.fifo);
  const singleWorker = checkSingleWorkerPerEntity(history, options.singleWorker);
  const noLost = checkNoLostOrDuplicated(enqueued, history, options.noLost);
  return combineChecks(history, fifo, singleWorker, noLost);
}

/** One HistoryCheckResult from the three checkers' results on `history` (the harness runs them with its own options). */
export function combineChecks(
  history: readonly JobExecution[],
  fifo: HistoryCheckResult['fifo'],
  singleWorker: HistoryCheckResult['singleWorker'],
  noLost: HistoryCheckResult['noLost'],
): HistoryCheckResult {
  const outcomes: Record<JobExecution['outcome'], number> = { completed: 0, failed: 0, crashed: 0, running: 0 };
  for (const e of history) outcomes[e.outcome]++;
  return {
    ok: fifo.ok && singleWorker.ok && noLost.ok,
    fifo,
    singleWorker,
    noLost,
    stats: {
      entities: fifo.stats.entities,
      executions: history.length,
      failed: outcomes.failed,
      crashed: outcomes.crashed,
      running: outcomes.running,
    },
  };
}

/** Column order of `historyCheckRow`, for report tables. */
export const HISTORY_CHECK_COLUMNS = [
  'ok', 'entities', 'enqueued', 'completed', 'executions', 'failed', 'crashed', 'lost', 'unexpected',
  'duplicated', 'duplicatedAllowed', 'recovered', 'fifoViolations', 'overlaps', 'maxConcurrency',
] as const;

export type HistoryCheckRow = Record<(typeof HISTORY_CHECK_COLUMNS)[number], number | 'yes' | 'NO'>;

/** Counts of one run as a table row (chaos / load reports). */
export function historyCheckRow(result: HistoryCheckResult): HistoryCheckRow {
  const { noLost, fifo, singleWorker, stats } = result;
  return {
    ok: result.ok ? 'yes' : 'NO',
    entities: stats.entities,
    enqueued: noLost.stats.enqueued,
    completed: noLost.stats.completed,
    executions: stats.executions,
    failed: stats.failed,
    crashed: stats.crashed,
    lost: noLost.stats.lost,
    unexpected: noLost.stats.unexpected,
    duplicated: noLost.stats.duplicated,
    duplicatedAllowed: noLost.stats.duplicatedAllowed,
    recovered: noLost.stats.recovered,
    fifoViolations: fifo.violations.length,
    overlaps: singleWorker.stats.overlappingPairs,
    maxConcurrency: singleWorker.stats.maxConcurrency,
  };
}

/** One line, e.g. `history OK: 40 entities, 1200 enqueued, 1200 completed, … 0 FIFO violations, 0 overlaps`. */
export function formatHistorySummary(result: HistoryCheckResult): string {
  const r = historyCheckRow(result);
  return (
    `history ${result.ok ? 'OK' : 'VIOLATED'}: ${r.entities} entities, ${r.enqueued} enqueued, ${r.completed} completed, ` +
    `${r.executions} executions (${r.failed} failed, ${r.crashed} crashed), ${r.lost} lost, ${r.unexpected} unexpected, ` +
    `${r.duplicated} duplicated (${r.duplicatedAllowed} allowed), ${r.recovered} recovered, ` +
    `${r.fifoViolations} FIFO violations, ${r.overlaps} overlaps`
  );
}

/** Summary line followed by the report of every checker that failed. */
export function formatHistoryCheck(result: HistoryCheckResult, maxListed?: number): string {
  const parts = [formatHistorySummary(result)];
  if (!result.fifo.ok) parts.push(formatFifoResult(result.fifo, maxListed));
  if (!result.singleWorker.ok) parts.push(formatSingleWorkerResult(result.singleWorker, maxListed));
  if (!result.noLost.ok) parts.push(formatNoLostResult(result.noLost, maxListed));
  return parts.join('\n');
}

export function assertHistory(
  enqueued: readonly EnqueuedJob[],
  history: readonly JobExecution[],
  options: HistoryCheckOptions & AssertOptions = {},
): HistoryCheckResult {
  return assertResult(checkHistory(enqueued, history, options), formatHistoryCheck, options.maxListed);
}
