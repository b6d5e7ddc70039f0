import type { JobExecution } from '../history.js';
import type { HistoryLine } from './events.js';

/** What an execution with a start and no end becomes when the history is read. */
export type OpenExecutionPolicy = 'running' | 'crashed';

const attemptKey = (l: HistoryLine): string => `${l.node}\u0000${l.worker}\u0000${l.queue}\u0000${l.jobId}\u0000${l.attempt}`;

/**
 * Joins start / end / effect lines of one attempt (same node, worker, queue, jobId, attempt) into JobExecution
 * records. A second start of an attempt that is still open closes the first one as 'crashed' (the node restarted).
 */
export class HistoryAssembler {
  private readonly executions: JobExecution[] = [];
  private readonly open = new Map<string, { execution: JobExecution; source?: string }>();
  private readonly latest = new Map<string, JobExecution>();
  /** Ends (or effects) whose start was never seen. */
  orphans = 0;

  add(line: HistoryLine, source?: string): void {
    const key = attemptKey(line);
    if (line.phase === 'effect') {
      const target = this.open.get(key)?.execution ?? this.latest.get(key);
      if (!target) {
        this.orphans++;
        return;
      }
      target.applied = line.applied ?? true;
      target.effectAt = line.at;
      if (line.fencingToken !== undefined) target.fencingToken = line.fencingToken;
      return;
    }
    const opened = this.open.get(key);
    if (line.phase === 'start') {
      if (opened) opened.execution.outcome = 'crashed';
      const execution = this.create(line, source);
      this.open.set(key, { execution, ...(source === undefined ? {} : { source }) });
      return;
    }
    let execution = opened?.execution;
    if (!execution) {
      this.orphans++;
      execution = this.create(line, source);
    }
    this.open.delete(key);
    execution.end = line.at;
    execution.outcome = line.outcome ?? 'completed';
    if (line.error !== undefined) execution.error = line.error;
  }

  /** Closes open executions matching `filter` as 'crashed'; returns how many. */
  crashOpen(filter: (execution: JobExecution, source: string | undefined) => boolean = () => true): number {
    let crashed = 0;
    for (const [key, { execution, source }] of this.open) {
      if (!filter(execution, source)) continue;
      execution.outcome = 'crashed';
      this.open.delete(key);
      crashed++;
    }
    return crashed;
  }

  /** Copies of all executions in start-line order; still-open ones get outcome `open`. */
  history(open: OpenExecutionPolicy = 'running'): JobExecution[] {
    const stillOpen = new Set([...this.open.values()].map((o) => o.execution));
    return this.executions.map((e) => ({ ...e, ...(stillOpen.has(e) ? { outcome: open } : {}) }));
  }

  clear(): void {
    this.executions.length = 0;
    this.open.clear();
    this.latest.clear();
    this.orphans = 0;
  }

  private create(line: HistoryLine, source: string | undefined): JobExecution {
    if (line.entityType === undefined || line.entityId === undefined) {
      throw new Error(
        `history line without entityType/entityId${source ? ` in ${source}` : ''}: ${JSON.stringify(line)}`,
      );
    }
    const execution: JobExecution = {
      entityType: line.entityType,
      entityId: line.entityId,
      queue: line.queue,
      jobId: line.jobId,
      jobName: line.jobName ?? '',
      ...(line.seq === undefined ? {} : { seq: line.seq }),
      worker: line.worker,
      node: line.node,
      attempt: line.attempt,
      start: line.at,
      outcome: 'running',
    };
    this.executions.push(execution);
    this.latest.set(attemptKey(line), execution);
    return execution;
  }
}
