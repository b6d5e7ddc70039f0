/** Generic per-entity jobs used by the load scenarios (`POST /entities/:type/:id/jobs`). */
export const GENERIC_ENTITY_TYPES = ['load'] as const;
export const GENERIC_JOB_NAME = 'load-step';

/** Job data (entity and seq in the data, as the history recorder reads them). */
export interface GenericJobData {
  entityType: string;
  entityId: string;
  seq: number;
  payload?: unknown;
}

/** Body of `POST /entities/:type/:id/jobs`: `jobId` lets a producer match an enqueue whose reply it lost. */
export interface GenericJobRequest {
  seq: number;
  jobId?: string;
  payload?: unknown;
}

const JOB_ID_RE = /^[A-Za-z0-9_.-]{1,200}$/;

/** Problems of a generic job request (empty when valid), each naming the field and what is accepted. */
export function genericJobProblems(type: string, body: unknown): string[] {
  const problems: string[] = [];
  if (!(GENERIC_ENTITY_TYPES as readonly string[]).includes(type)) {
    problems.push(`entity type "${type}" is not accepted; accepted values: ${GENERIC_ENTITY_TYPES.join(', ')}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [...problems, 'body must be a JSON object { seq, jobId?, payload? }'];
  const seq = (body as Record<string, unknown>).seq;
  if (!Number.isInteger(seq) || (seq as number) < 0) problems.push(`seq must be a non-negative integer (got ${JSON.stringify(seq)})`);
  const jobId = (body as Record<string, unknown>).jobId;
  if (jobId !== undefined && (typeof jobId !== 'string' || !JOB_ID_RE.test(jobId) || /^\d+$/.test(jobId))) {
    problems.push(`jobId must be 1-200 characters of A-Z a-z 0-9 _ . - and not only digits (got ${JSON.stringify(jobId)})`);
  }
  return problems;
}
