import autocannon from 'autocannon';
import type { EnqueuedJob } from '@nestjs/atomic-queues/testing';
import type { ProducedJob } from './lib/analysis.js';
import { EntityCursor, type NextJob } from './lib/entities.js';
import { LOAD_ENTITY_TYPE, LOAD_JOB_NAME, entityJobBody, entityJobPath, parseEnqueueReply, producerJobId } from './lib/payload.js';

/**
 * One serial producer = one autocannon client with one connection and pipelining 1: its requests go out one
 * after the other, so the per-entity sequence numbers it hands out are also the enqueue order.
 */
export interface ProducerSpec {
  url: string;
  /** Next job to send, or undefined to stop. */
  next: () => NextJob | undefined;
  /** Requests per second (constant rate); omitted = as fast as possible. */
  rate?: number;
  durationS?: number;
  amount?: number;
  padBytes: number;
}

export interface ProducerRun {
  produced: ProducedJob[];
  /**
   * Requests that got no reply (connection dropped, timeout), except the producer's last one: that one may
   * simply have been in flight when the phase ended.
   */
  failures: number;
}

export async function runProducer(spec: ProducerSpec): Promise<ProducerRun> {
  const produced: ProducedJob[] = [];
  let pending: ProducedJob | undefined;
  await autocannon({
    url: spec.url,
    connections: 1,
    pipelining: 1,
    timeout: 30,
    ...(spec.durationS !== undefined ? { duration: spec.durationS } : {}),
    ...(spec.amount !== undefined ? { amount: spec.amount } : {}),
    ...(spec.rate !== undefined ? { overallRate: spec.rate } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const job = spec.next();
          if (!job) return null;
          const jobId = producerJobId(job.entityId, job.seq);
          pending = { entityType: LOAD_ENTITY_TYPE, entityId: job.entityId, seq: job.seq, jobId, sentAt: Date.now(), status: 0 };
          produced.push(pending);
          return { ...request, path: entityJobPath(LOAD_ENTITY_TYPE, job.entityId), body: JSON.stringify(entityJobBody(job.seq, pending.sentAt, spec.padBytes, jobId)) };
        },
        onResponse: (status, body) => {
          const p = pending;
          pending = undefined;
          if (!p) return;
          p.status = status;
          if (status === 201 && parseEnqueueReply(body).jobId === p.jobId) p.ackAt = Date.now();
        },
      },
    ],
  });
  return { produced, failures: produced.slice(0, -1).filter((p) => p.status === 0).length };
}

/** Producer `owner` of `owners` for the many-entities phase. */
export function entitySliceProducer(prefix: string, entities: number, owners: number, owner: number): () => NextJob | undefined {
  const cursor = new EntityCursor({ prefix, entities, owners }, owner);
  return () => cursor.next();
}

/** Producer hammering one hot entity with seq 0, 1, 2, …. */
export function hotEntityProducer(entityId: string): () => NextJob {
  let seq = 0;
  return () => ({ entityId, seq: seq++ });
}

/**
 * The enqueue list for the checkers: acknowledged adds are 'ok'; adds without any reply (failed connection,
 * timeout, or in flight when the phase ended) may have reached the app: 'unknown' (never lost, `recovered` if
 * they ran). Adds refused with an HTTP status are left out: they enqueued nothing.
 */
export function toEnqueued(produced: readonly ProducedJob[]): EnqueuedJob[] {
  return produced
    .filter((p) => p.ackAt !== undefined || p.status === 0)
    .map((p) => ({
      entityType: p.entityType,
      entityId: p.entityId,
      jobId: p.jobId!,
      jobName: LOAD_JOB_NAME,
      seq: p.seq,
      ...(p.ackAt !== undefined ? { at: p.ackAt, status: 'ok' as const } : { status: 'unknown' as const }),
    }))
    .sort((a, b) => a.seq - b.seq);
}
