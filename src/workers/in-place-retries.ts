import type { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { keys } from '../config/keys.js';
import type { Clock } from '../ports/clock.js';
import type { RedisClient } from '../ports/redis.js';
import type { AtomicQueuesObserver, ObservedEntity } from '../telemetry/observer.js';
import { backoffDelay } from './backoff.js';
import { failedAttemptNext, isUnrecoverable } from './failed-attempt.js';
import { safely } from './guards.js';
import type { AttemptSite, JobLifecycleObservers } from './job-lifecycle.js';

/** The worker an attempt runs on: where it is reported, and whether it was force-closed meanwhile. */
export interface RetrySite extends AttemptSite {
  readonly forced?: boolean;
  /** The entity the worker serves (telemetry attributes). */
  readonly entity?: ObservedEntity;
}

/**
 * Jobs with `attempts > 1` are retried in place: the job stays active and the backoff waits on the Clock, so a
 * retry always runs before the next job of the queue. Only the last failure reaches BullMQ, marked final so
 * BullMQ schedules no retry of its own (which would run after later jobs). The attempt number lives in Redis
 * (`${keyPrefix}:attempts:<queue>`), so it keeps counting when a crashed attempt is re-run elsewhere.
 */
export class InPlaceRetries {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly clock: Clock,
    private readonly observers: JobLifecycleObservers,
    private readonly logger: Logger,
    /** Telemetry: each attempt (the processor call) runs inside the observer's attempt span. */
    private readonly observer: AtomicQueuesObserver,
    private readonly nodeId: string,
  ) {}

  /** Runs every attempt of `job`; returns the processor's result or throws the final failure. */
  async run(site: RetrySite, job: Job, processor: (job: Job) => unknown): Promise<unknown> {
    const maxAttempts = Math.max(1, job.opts.attempts ?? 1);
    const attemptsKey = keys.attempts(this.keyPrefix, site.queueName);
    const jobId = String(job.id);
    const nextAttempt = async (): Promise<number> =>
      maxAttempts > 1 ? Number(await this.redis.hincrby(attemptsKey, jobId, 1)) : job.attemptsMade + 1;
    let attempt = await nextAttempt();
    for (;;) {
      this.observers.emit(site, job, 'start', attempt);
      try {
        const result = await this.observer.attempt(
          { job, attempt, maxAttempts, queueName: site.queueName, entity: site.entity, workerName: site.name, nodeId: this.nodeId },
          () => processor(job),
        );
        this.observers.emit(site, job, 'end', attempt, 'completed');
        if (maxAttempts > 1) await this.redis.hdel(attemptsKey, jobId);
        return result;
      } catch (raw) {
        const err = raw instanceof Error ? raw : new Error(String(raw));
        this.observers.emit(site, job, 'end', attempt, 'failed', err);
        const next = failedAttemptNext(err, attempt, maxAttempts);
        // The processor moved the job itself (e.g. job.moveToWait + WaitingError to give it back): not a failure
        // to retry in place; BullMQ handles it. The attempt counter keeps counting when the job runs again.
        if (next === 'moved') throw err;
        if (next === 'final') {
          if (maxAttempts > 1) await this.redis.hdel(attemptsKey, jobId);
          if (maxAttempts === 1 && !isUnrecoverable(err)) throw err;
          throw asFinal(err);
        }
        await safely(this.logger, 'job log', () => job.log(`attempt ${attempt} failed: ${err.message}`));
        await this.clock.sleep(backoffDelay(job.opts.backoff, attempt));
        if (site.forced) throw new Error(`worker ${site.name} was force-closed during a retry backoff; the job is re-run as stalled`);
        attempt = await nextAttempt();
      }
    }
  }
}

/** The final failure, marked so BullMQ does not schedule its own (out-of-order) retry. */
function asFinal(err: Error): Error {
  if (err.name === 'UnrecoverableError') return err;
  const final = new UnrecoverableError(err.message);
  final.stack = err.stack;
  (final as Error & { cause?: unknown }).cause = err;
  return final;
}
