import type { Job } from 'bullmq';
import { entityQueueName, keys } from '../config/keys.js';
import { assertEntity } from '../validation.js';
import { retriedLogLine } from '../workers/attempt-log.js';
import type { CliContext } from './context.js';
import { CliNotFoundError } from './errors.js';

export interface RetryReport {
  entityType: string;
  entityId: string;
  queueName: string;
  /** Ids of the failed jobs moved back to wait, in the order they will run. */
  retried: string[];
  /** Jobs that could not be retried (e.g. retried or removed meanwhile), with why. */
  skipped: Array<{ id: string; reason: string }>;
}

/** Failed jobs read per page. */
const RETRY_PAGE = 500;

/**
 * `atomic-queues retry-failed <type> <id>`: moves every failed job of the entity back to wait (oldest first: they
 * run in the order they were created, after the jobs waiting now), indexes each as pending again and signals the
 * entity ready, so whichever node has room takes it as for a new job. Attempt counters start over; the failure
 * stays in the job's log (retriedLogLine).
 */
export async function retryFailed(ctx: CliContext, entityType: string, entityId: string): Promise<RetryReport> {
  assertEntity(entityType, entityId);
  const { index, signals, redis, prefix } = ctx;
  const queueName = entityQueueName(entityType, entityId);
  const queue = ctx.openQueue(queueName);
  const failed: Job[] = [];
  for (let start = 0; ; start += RETRY_PAGE) {
    const page = (await queue.getFailed(start, start + RETRY_PAGE - 1)) as Job[];
    failed.push(...page.filter((j): j is Job => Boolean(j)));
    if (page.length < RETRY_PAGE) break;
  }
  const report: RetryReport = { entityType, entityId, queueName, retried: [], skipped: [] };
  if (failed.length === 0) {
    const exists = (await redis.hexists(keys.indexQueues(prefix, entityType), entityId)) === 1 || (await redis.exists(queue.keys.meta!)) === 1;
    if (!exists) throw new CliNotFoundError(`entity ${entityType}/${entityId} not found under key prefix '${prefix}' (no queue, no index entry); check the type, the id and --key-prefix`);
    return report;
  }
  failed.sort((a, b) => a.timestamp - b.timestamp);
  for (const job of failed) {
    const jobId = String(job.id);
    const indexed = await index.indexEntityJob(entityType, entityId, jobId);
    if (!indexed.queueIndexed) await index.indexEntityQueue(entityType, entityId, queueName);
    try {
      await redis.hdel(keys.attempts(prefix, queueName), jobId);
      await job.log(retriedLogLine(job.failedReason ?? 'unknown'));
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      report.retried.push(jobId);
    } catch (err) {
      await index.unindexJob(entityType, entityId, jobId);
      report.skipped.push({ id: jobId, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  if (report.retried.length > 0) await signals.markReady({ entityType, entityId }, ctx.clock.now());
  return report;
}
