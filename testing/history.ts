/**
 * The one history format shared by unit, property, integration, chaos and load tests. Every execution
 * attempt of a job is one record; producers record what they enqueued. Times are milliseconds on whatever
 * clock the run uses (TestClock in memory, Date.now() on real Redis / across processes on one machine).
 */
export type ExecutionOutcome =
  | 'completed' // processor returned
  | 'failed' // processor threw (a retry may follow)
  | 'crashed' // the worker died mid-job (SIGKILL, crashWorker): no end was observed by the worker itself
  | 'running'; // still in flight when the history was read

export interface JobExecution {
  entityType: string;
  entityId: string;
  queue: string;
  jobId: string;
  jobName: string;
  /** Producer's per-entity sequence number (0, 1, 2, …) when the run numbers its jobs. */
  seq?: number;
  worker: string;
  /** Process / node that ran it (chaos, load, multi-process tests). */
  node?: string;
  /** 1 for the first attempt, BullMQ `attemptsMade + 1` in general; a stalled re-run may repeat a number. */
  attempt: number;
  start: number;
  /** Absent while running, or when the executor died before it could record the end. */
  end?: number;
  outcome: ExecutionOutcome;
  error?: string;
  /** Fencing token held while the effect was applied (chaos effect sink). */
  fencingToken?: number;
  /** false when the effect sink rejected the write (stale fencing token). Defaults to true. */
  applied?: boolean;
  /**
   * When the effect sink took the write (applied or rejected). With `endAtEffect` the checkers judge an applied
   * execution by its effect: it is over at `effectAt`, whatever its process did (or was paused for) afterwards.
   */
  effectAt?: number;
}

export interface EnqueuedJob {
  entityType: string;
  entityId: string;
  jobId: string;
  jobName?: string;
  /** Queue the job was added to, when the producer knows it. */
  queue?: string;
  seq: number;
  /** Time the add was acknowledged. */
  at?: number;
  /**
   * Outcome of the add as the producer saw it (Jepsen's ok / info). 'unknown' = the add timed out or the
   * connection failed, so the job may or may not be in the queue: it is never reported lost, and reported
   * `recovered` when it completes. Defaults to 'ok'.
   */
  status?: 'ok' | 'unknown';
  /**
   * Why the job has no FIFO position among its entity's jobs, when it was added out of line: with a delay, a
   * priority or LIFO (e.g. `delay 500`). FIFO checkers leave its executions unranked (counted, not judged); it must
   * still complete (no-lost) and never overlap (single worker).
   */
  unordered?: string;
}

/** Key of an entity in maps and messages. */
export const entityKey = (e: { entityType: string; entityId: string }): string => `${e.entityType}/${e.entityId}`;
