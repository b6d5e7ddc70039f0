import { DelayedError, RateLimitError, WaitingChildrenError, WaitingError } from 'bullmq';
import { JobProcessorNotFoundError } from '../errors.js';

/**
 * What follows a failed attempt of a job retried in place (the one rule; the worker service acts on it, the
 * telemetry reports it):
 * - `moved`: the processor moved the job itself (BullMQ control flow, e.g. job.moveToWait + WaitingError): not a
 *   failure; BullMQ handles the job.
 * - `final`: the job fails for good (no processor for its name, UnrecoverableError, or its last attempt).
 * - `retry`: the job runs again, in place, after its backoff.
 */
export type FailedAttemptNext = 'moved' | 'final' | 'retry';

export function failedAttemptNext(err: Error, attempt: number, maxAttempts: number): FailedAttemptNext {
  if (isBullMqControlFlow(err)) return 'moved';
  return isUnrecoverable(err) || attempt >= maxAttempts || maxAttempts === 1 ? 'final' : 'retry';
}

/** Never retried, whatever `attempts` says. */
export function isUnrecoverable(err: Error): boolean {
  return err instanceof JobProcessorNotFoundError || err.name === 'UnrecoverableError';
}

function isBullMqControlFlow(err: Error): boolean {
  return err instanceof WaitingError || err instanceof DelayedError || err instanceof WaitingChildrenError || err instanceof RateLimitError;
}
