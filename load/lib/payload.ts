/**
 * Request shape of the example app's generic endpoint `POST /entities/:type/:id/jobs` and of its reply.
 * Leaf module (no imports): k6 loads it as-is.
 */

export const LOAD_ENTITY_TYPE = 'load';
export const LOAD_JOB_NAME = 'load-step';

export interface EntityJobBody {
  /** Producer's per-entity sequence number (0, 1, 2, …). */
  seq: number;
  /** Producer-chosen job id, so an enqueue whose reply was lost can still be matched in the history. */
  jobId?: string;
  payload: { sentAt: number; pad: string };
}

export interface EnqueueReply {
  jobId: string;
  queue: string;
  seq: number;
}

export function entityJobPath(entityType: string, entityId: string): string {
  return `/entities/${encodeURIComponent(entityType)}/${encodeURIComponent(entityId)}/jobs`;
}

/** Job id a producer gives job `seq` of an entity (entity ids are unique per run). */
export function producerJobId(entityId: string, seq: number): string {
  return `${entityId}-${seq}`;
}

/** A job body whose JSON is padded to roughly `padBytes` extra bytes. */
export function entityJobBody(seq: number, sentAt: number, padBytes = 0, jobId?: string): EntityJobBody {
  if (!Number.isInteger(seq) || seq < 0) throw new Error(`seq must be a non-negative integer, got ${String(seq)}`);
  if (!Number.isInteger(padBytes) || padBytes < 0) {
    throw new Error(`padBytes must be a non-negative integer, got ${String(padBytes)}`);
  }
  const body: EntityJobBody = { seq, payload: { sentAt, pad: 'x'.repeat(padBytes) } };
  if (jobId !== undefined) body.jobId = jobId;
  return body;
}

/** Parses the app's 201 reply; throws naming the missing/invalid field. */
export function parseEnqueueReply(text: string): EnqueueReply {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`enqueue reply is not JSON: ${text.slice(0, 200)}`);
  }
  const reply = value as Partial<EnqueueReply> | null;
  if (reply === null || typeof reply !== 'object') throw new Error(`enqueue reply is not an object: ${text.slice(0, 200)}`);
  if (typeof reply.jobId !== 'string' || reply.jobId === '') throw new Error(`enqueue reply has no jobId: ${text.slice(0, 200)}`);
  if (typeof reply.queue !== 'string' || reply.queue === '') throw new Error(`enqueue reply has no queue: ${text.slice(0, 200)}`);
  if (typeof reply.seq !== 'number') throw new Error(`enqueue reply has no seq: ${text.slice(0, 200)}`);
  return { jobId: reply.jobId, queue: reply.queue, seq: reply.seq };
}
