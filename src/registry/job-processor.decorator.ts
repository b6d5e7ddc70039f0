import { Injectable, SetMetadata } from '@nestjs/common';
import type { Job } from 'bullmq';
import { assertNonEmptyString } from '../validation.js';

export const JOB_PROCESSOR_METADATA = Symbol.for('@nestjs/atomic-queues:job-processor');

/** A `@JobProcessor` provider: implements `process(job)` (or `handle(job)`). It may inject CommandBus etc. */
export interface JobHandler<T = any, R = any> {
  process?(job: Job<T>): Promise<R> | R;
  handle?(job: Job<T>): Promise<R> | R;
}

/**
 * Marks a provider as the processor of jobs named `jobName` (discovered at bootstrap by JobProcessorRegistry).
 * The class must be listed in some module's `providers`.
 */
export function JobProcessor(jobName: string): ClassDecorator {
  assertNonEmptyString('@JobProcessor(jobName)', jobName);
  const setMeta = SetMetadata(JOB_PROCESSOR_METADATA, jobName);
  const injectable = Injectable();
  return (target) => {
    setMeta(target);
    injectable(target);
  };
}
