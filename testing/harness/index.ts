export * from './errors.js';
export * from './test-harness.js';
export { HarnessHistory, PLAIN_QUEUE_ENTITY_TYPE } from './harness-history.js';
export { pendingJobs, describePendingJobs, type PendingJob } from './pending-jobs.js';
