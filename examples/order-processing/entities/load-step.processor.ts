import { JobProcessor } from '@nestjs/atomic-queues';
import type { Job } from 'bullmq';
import { GENERIC_JOB_NAME, type GenericJobData } from './generic-jobs.js';

/** No-op work: the load scenarios measure the queueing machinery, not the job. */
@JobProcessor(GENERIC_JOB_NAME)
export class LoadStepProcessor {
  process(job: Job<GenericJobData>): { seq: number } {
    return { seq: job.data.seq };
  }
}
