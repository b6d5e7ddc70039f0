/**
 * A failed attempt of a job retried in place (see WorkerManagerService) is written to the job's BullMQ log as
 * `attempt <n> failed: <message>`: BullMQ itself only sees the final failure. Readers (the CLI) parse it back.
 */
export const attemptFailedLogLine = (attempt: number, message: string): string => `attempt ${attempt} failed: ${message}`;

const ATTEMPT_FAILED_RE = /^attempt (\d+) failed: ([\s\S]*)$/;

/** The attempt number and error message of a log line written by attemptFailedLogLine, or undefined. */
export function parseAttemptFailedLogLine(line: string): { attempt: number; message: string } | undefined {
  const m = ATTEMPT_FAILED_RE.exec(line);
  return m ? { attempt: Number(m[1]), message: m[2]! } : undefined;
}
