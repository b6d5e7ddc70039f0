/**
 * The lifecycle event the recorders consume. It is the structural shape of `JobLifecycleEvent` emitted by
 * `WorkerManagerService.observe(listener)` (kept local so the testing entry point never depends on src/ internals).
 */
export interface RecordableJobEvent {
  phase: 'start' | 'end';
  workerName: string;
  nodeId: string;
  queueName: string;
  job: { id?: string; name: string; data: unknown; attemptsMade: number };
  /** 1-based attempt number. */
  attempt: number;
  outcome?: 'completed' | 'failed';
  error?: unknown;
  at: number;
}

/** What identifies a job's entity and producer sequence number. */
export interface JobIdentity {
  entityType: string;
  entityId: string;
  seq?: number;
}

export type EntityExtractor = (event: RecordableJobEvent) => JobIdentity;

/**
 * Default extractor: the job data carries `{ entityType, entityId, seq? }` (this project's tests). Throws an error
 * naming the field, the job and the queue when the data does not.
 */
export const entityFromJobData: EntityExtractor = (event) => {
  const data = (event.job.data ?? {}) as Record<string, unknown>;
  const where = `job ${event.job.id} (${event.job.name}) on queue ${event.queueName}`;
  for (const field of ['entityType', 'entityId'] as const) {
    const value = data[field];
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new Error(
        `history recorder: ${where} has no string data.${field} (got ${JSON.stringify(value)}); ` +
          'pass { extract } to the recorder to read the entity from elsewhere',
      );
    }
  }
  const seq = data.seq;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isInteger(seq))) {
    throw new Error(`history recorder: ${where} has data.seq ${JSON.stringify(seq)}; accepted: an integer or absent`);
  }
  return { entityType: String(data.entityType), entityId: String(data.entityId), ...(seq === undefined ? {} : { seq }) };
};

/** Effect of an attempt as a fencing sink judged it (chaos tests); joins the execution with the same attempt key. */
export interface EffectRecord {
  nodeId: string;
  workerName: string;
  queueName: string;
  jobId: string;
  attempt: number;
  fencingToken?: number;
  applied: boolean;
  /**
   * When the sink applied (or rejected) the write: best taken from the sink itself (e.g. `applyIfCurrent`'s
   * `appliedAt`, the Redis server's time), which a pause of the recording process cannot delay.
   */
  at: number;
}

/** One JSONL line of a history file (`phase` 'open' lines are writer markers, see jsonl.ts). */
export interface HistoryLine {
  v: 1;
  phase: 'start' | 'end' | 'effect';
  at: number;
  node: string;
  worker: string;
  queue: string;
  jobId: string;
  attempt: number;
  jobName?: string;
  entityType?: string;
  entityId?: string;
  seq?: number;
  outcome?: 'completed' | 'failed';
  error?: string;
  fencingToken?: number;
  applied?: boolean;
}

const errorText = (error: unknown): string | undefined =>
  error === undefined ? undefined : error instanceof Error ? error.message : String(error);

export function lineFromEvent(event: RecordableJobEvent, extract: EntityExtractor): HistoryLine {
  const id = extract(event);
  const error = errorText(event.error);
  return {
    v: 1,
    phase: event.phase,
    at: event.at,
    node: event.nodeId,
    worker: event.workerName,
    queue: event.queueName,
    jobId: String(event.job.id),
    attempt: event.attempt,
    jobName: event.job.name,
    entityType: id.entityType,
    entityId: id.entityId,
    ...(id.seq === undefined ? {} : { seq: id.seq }),
    ...(event.outcome ? { outcome: event.outcome } : {}),
    ...(error === undefined ? {} : { error }),
  };
}

export function lineFromEffect(effect: EffectRecord): HistoryLine {
  return {
    v: 1,
    phase: 'effect',
    at: effect.at,
    node: effect.nodeId,
    worker: effect.workerName,
    queue: effect.queueName,
    jobId: effect.jobId,
    attempt: effect.attempt,
    applied: effect.applied,
    ...(effect.fencingToken === undefined ? {} : { fencingToken: effect.fencingToken }),
  };
}
