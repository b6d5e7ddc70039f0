/**
 * A failed attempt of a job retried in place (see InPlaceRetries) is written to the job's BullMQ log as
 * `attempt <n> failed: <message>`: BullMQ itself only sees the final failure. Readers (the CLI) parse it back.
 */
export const attemptFailedLogLine = (attempt: number, message: string): string => `attempt ${attempt} failed: ${message}`;

const ATTEMPT_FAILED_RE = /^attempt (\d+) failed: ([\s\S]*)$/;

/** The attempt number and error message of a log line written by attemptFailedLogLine, or undefined. */
export function parseAttemptFailedLogLine(line: string): { attempt: number; message: string } | undefined {
  const m = ATTEMPT_FAILED_RE.exec(line);
  return m ? { attempt: Number(m[1]), message: m[2]! } : undefined;
}

/** Written by `atomic-queues retry-failed` before it moves a failed job back to wait: the failure it had. */
export const retriedLogLine = (failedReason: string): string => `retried after final failure: ${failedReason}`;

const RETRIED_RE = /^retried after final failure: ([\s\S]*)$/;

/** The failure recorded by retriedLogLine, or undefined. */
export function parseRetriedLogLine(line: string): { failedReason: string } | undefined {
  const m = RETRIED_RE.exec(line);
  return m ? { failedReason: m[1]! } : undefined;
}
