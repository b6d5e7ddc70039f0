import type { EnqueuedJob, JobExecution } from '../../testing/history.js';

/** `exec('order/1', 2, 10, 20)` → job `j2` (seq 2) of order/1 ran [10, 20) and completed. */
export function exec(
  entity: string,
  seq: number,
  start: number,
  end: number | undefined,
  extra: Partial<JobExecution> = {},
): JobExecution {
  const [entityType, entityId] = entity.split('/') as [string, string];
  return {
    entityType,
    entityId,
    queue: `${entityType}-${entityId}-queue`,
    jobId: `j${seq}`,
    jobName: 'work',
    seq,
    worker: 'w1',
    node: 'n1',
    attempt: 1,
    start,
    end,
    outcome: end === undefined ? 'crashed' : 'completed',
    ...extra,
  };
}

export function enq(entity: string, seq: number, extra: Partial<EnqueuedJob> = {}): EnqueuedJob {
  const [entityType, entityId] = entity.split('/') as [string, string];
  return { entityType, entityId, jobId: `j${seq}`, seq, ...extra };
}

/** A correct history: `entities` × `jobs` jobs, each entity running its jobs back to back. */
export function goodRun(entities: number, jobs: number): { enqueued: EnqueuedJob[]; history: JobExecution[] } {
  const enqueued: EnqueuedJob[] = [];
  const history: JobExecution[] = [];
  for (let e = 0; e < entities; e++) {
    for (let s = 0; s < jobs; s++) {
      enqueued.push(enq(`order/${e}`, s));
      history.push(exec(`order/${e}`, s, s * 10 + e, s * 10 + e + 10));
    }
  }
  return { enqueued, history };
}
