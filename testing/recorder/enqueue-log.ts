import type { EnqueuedJob } from '../history.js';
import { JsonlWriter, isOpenMarker, readJsonlFile } from './jsonl.js';

/**
 * What producers enqueued, in memory and (with a path) as append-only JSONL. Record an add after it was
 * acknowledged (status 'ok'), or with status 'unknown' when it timed out / the connection failed.
 */
export class EnqueueLog {
  private readonly jobs: EnqueuedJob[] = [];
  private readonly writer: JsonlWriter | undefined;

  constructor(readonly filePath?: string) {
    this.writer = filePath === undefined ? undefined : new JsonlWriter(filePath);
  }

  record(job: EnqueuedJob): void {
    this.jobs.push(job);
    this.writer?.write(job);
  }

  entries(): EnqueuedJob[] {
    return [...this.jobs];
  }

  close(): void {
    this.writer?.close();
  }
}

const REQUIRED = ['entityType', 'entityId', 'jobId'] as const;

/**
 * Merges enqueue logs (torn last lines tolerated) into one list, stably sorted by `seq`: each entity's jobs come out
 * in producer sequence order, which is the order `checkFifoPerEntity(history, enqueued)` expects.
 */
export function readEnqueueLog(files: string | readonly string[]): EnqueuedJob[] {
  const jobs: EnqueuedJob[] = [];
  for (const file of typeof files === 'string' ? [files] : files) {
    for (const { value, line } of readJsonlFile(file).lines) {
      if (isOpenMarker(value)) continue;
      const job = value as EnqueuedJob;
      for (const field of REQUIRED) {
        if (typeof job[field] !== 'string') throw new Error(`${file}:${line}: enqueue line without string ${field}: ${JSON.stringify(value)}`);
      }
      if (!Number.isInteger(job.seq)) throw new Error(`${file}:${line}: enqueue line with seq ${JSON.stringify(job.seq)}; accepted: an integer`);
      jobs.push(job);
    }
  }
  return jobs.sort((a, b) => a.seq - b.seq);
}
