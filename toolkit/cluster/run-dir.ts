import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  checkHistory,
  formatHistoryCheck,
  formatHistorySummary,
  readEnqueueLog,
  readJsonlHistory,
  type EnqueuedJob,
  type HistoryCheckOptions,
  type HistoryCheckResult,
  type JobExecution,
} from '@nestjs/atomic-queues/testing';
import { entityQueueName } from '@nestjs/atomic-queues';

/**
 * A run dir holds everything one multi-process run produces: per-process stdout/stderr logs (launcher),
 * one execution history per node (`history-<node>.jsonl`) and one enqueue log per producer
 * (`enqueue-<producer>.jsonl`). Default root: .runs/ in the cwd (git-ignored); override with AQ_RUNS_DIR.
 */
export interface RunDir {
  readonly path: string;
  /** Unique id of the run, also usable as a Redis key prefix. */
  readonly id: string;
  historyFile(nodeId: string): string;
  enqueueFile(producerId: string): string;
}

export const HISTORY_FILE_RE = /^history-(.+)\.jsonl$/;
export const ENQUEUE_FILE_RE = /^enqueue-(.+)\.jsonl$/;

export function makeRunDir(name: string, root = process.env.AQ_RUNS_DIR ?? join(process.cwd(), '.runs')): RunDir {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`makeRunDir: name "${name}" may only contain letters, digits, "_", "." and "-"`);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const id = `${name}-${stamp}-${randomBytes(3).toString('hex')}`;
  const path = resolve(root, id);
  mkdirSync(path, { recursive: true });
  return {
    path,
    id,
    historyFile: (nodeId) => join(path, `history-${nodeId}.jsonl`),
    enqueueFile: (producerId) => join(path, `enqueue-${producerId}.jsonl`),
  };
}

export interface RunResult {
  /** Merged history of every node (attempts left open by a killed process are 'crashed'). */
  history: JobExecution[];
  /** Merged enqueue logs, in per-entity seq order. */
  enqueued: EnqueuedJob[];
  check: HistoryCheckResult;
  ok: boolean;
  /** One-line summary (formatHistorySummary). */
  summary: string;
  /** Summary plus the report of every failed checker. */
  report: string;
  historyFiles: string[];
  enqueueFiles: string[];
  /** Torn lines and orphan ends noticed while reading. */
  warnings: string[];
}

/** Files of the run dir matching a pattern (HISTORY_FILE_RE, ENQUEUE_FILE_RE), sorted by name. */
export function filesMatching(dir: string, re: RegExp): string[] {
  return readdirSync(dir)
    .filter((name) => re.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Reads every `history-*.jsonl` and `enqueue-*.jsonl` of the run dir and runs the shared checkers (FIFO per entity
 * in enqueue order, one executor per entity at a time, nothing lost or unexpected). Call it after the drain.
 */
export function collectRun(run: RunDir | string, options: HistoryCheckOptions = {}): RunResult {
  const dir = typeof run === 'string' ? run : run.path;
  const historyFiles = filesMatching(dir, HISTORY_FILE_RE);
  const enqueueFiles = filesMatching(dir, ENQUEUE_FILE_RE);
  if (enqueueFiles.length === 0) throw new Error(`collectRun: no enqueue-*.jsonl in ${dir}`);
  const warnings: string[] = [];
  const history = historyFiles.length === 0 ? [] : readJsonlHistory(historyFiles, { open: 'crashed', onWarning: (m) => warnings.push(m) });
  const enqueued = readEnqueueLog(enqueueFiles);
  const check = checkHistory(enqueued, history, options);
  return {
    history,
    enqueued,
    check,
    ok: check.ok,
    summary: formatHistorySummary(check),
    report: formatHistoryCheck(check),
    historyFiles,
    enqueueFiles,
    warnings,
  };
}

/** Executions of one entity (every outcome) in start order (handy for scenario assertions). */
export function entityExecutions(history: readonly JobExecution[], entityId: string): JobExecution[] {
  return history.filter((e) => e.entityId === entityId).sort((a, b) => a.start - b.start);
}

export interface DrainOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Poll period (default 200 ms). */
  pollMs?: number;
  /** How many enqueued jobs to expect at least (e.g. while producers still run); default: whatever the logs hold. */
  expectJobs?: number;
}

/**
 * Polls the run dir's files until every job of the enqueue logs (status 'ok') has a completed execution (and at
 * least `expectJobs` were enqueued). Rejects after the deadline with what is still missing.
 */
export async function waitForDrain(run: RunDir | string, options: DrainOptions = {}): Promise<void> {
  const dir = typeof run === 'string' ? run : run.path;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let missing: EnqueuedJob[] = [];
  let enqueuedCount = 0;
  for (;;) {
    const enqueueFiles = filesMatching(dir, ENQUEUE_FILE_RE);
    const historyFiles = filesMatching(dir, HISTORY_FILE_RE);
    const enqueued = enqueueFiles.length === 0 ? [] : readEnqueueLog(enqueueFiles).filter((j) => j.status !== 'unknown');
    const done = new Set(
      (historyFiles.length === 0 ? [] : readJsonlHistory(historyFiles, { open: 'running' }))
        .filter((e) => e.outcome === 'completed')
        .map((e) => `${e.queue}\u0000${e.jobId}`),
    );
    enqueuedCount = enqueued.length;
    missing = enqueued.filter((j) => !done.has(`${entityQueueName(j.entityType, j.entityId)}\u0000${j.jobId}`));
    if (missing.length === 0 && enqueuedCount >= (options.expectJobs ?? 0)) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
  const sample = missing.slice(0, 10).map((j) => `${j.entityType}/${j.entityId}#${j.seq} (${j.jobId})`);
  throw new Error(
    `waitForDrain(${dir}): ${enqueuedCount} enqueued (expected >= ${options.expectJobs ?? 0}), ` +
      `${missing.length} not completed after ${options.timeoutMs ?? 30_000} ms: ${sample.join(', ')}${missing.length > 10 ? ', …' : ''}`,
  );
}
