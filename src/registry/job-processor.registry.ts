import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { Job } from 'bullmq';
import { AtomicQueuesValidationError, DuplicateJobProcessorError, JobProcessorNotFoundError } from '../errors.js';
import { assertNonEmptyString } from '../validation.js';
import { JOB_PROCESSOR_METADATA, type JobHandler } from './job-processor.decorator.js';

export type JobProcessorFn<T = any, R = any> = (job: Job<T>) => Promise<R>;

interface Entry {
  owner: string;
  fn: JobProcessorFn;
}

/** Job name → processor, filled from `@JobProcessor` providers at bootstrap (and `register` for manual ones). */
@Injectable()
export class JobProcessorRegistry implements OnModuleInit {
  private readonly processors = new Map<string, Entry>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype || typeof metatype !== 'function') continue;
      const jobName = this.reflector.get<string | undefined>(JOB_PROCESSOR_METADATA, metatype);
      if (jobName === undefined) continue;
      this.register(jobName, instance as JobHandler, metatype.name);
    }
  }

  /** Registers a handler object (`process`/`handle` method) or function for a job name. */
  register(jobName: string, handler: JobHandler | ((job: Job) => unknown), owner = handlerName(handler)): void {
    assertNonEmptyString('jobName', jobName);
    const existing = this.processors.get(jobName);
    if (existing) throw new DuplicateJobProcessorError(jobName, [existing.owner, owner]);
    this.processors.set(jobName, { owner, fn: toFn(jobName, handler, owner) });
  }

  getProcessor(jobName: string): JobProcessorFn | undefined {
    return this.processors.get(jobName)?.fn;
  }

  hasProcessor(jobName: string): boolean {
    return this.processors.has(jobName);
  }

  getJobNames(): string[] {
    return [...this.processors.keys()].sort();
  }

  /** Runs the job with the processor registered for its name; throws JobProcessorNotFoundError when none. */
  async dispatch(job: Job): Promise<unknown> {
    const fn = this.processors.get(job.name)?.fn;
    if (!fn) throw new JobProcessorNotFoundError(job.name);
    return fn(job);
  }
}

function handlerName(handler: JobHandler | ((job: Job) => unknown)): string {
  if (typeof handler === 'function') return handler.name || 'anonymous function';
  return (handler as object).constructor?.name ?? 'object';
}

function toFn(jobName: string, handler: JobHandler | ((job: Job) => unknown), owner: string): JobProcessorFn {
  if (typeof handler === 'function') return async (job) => handler(job);
  const method = typeof handler.process === 'function' ? 'process' : typeof handler.handle === 'function' ? 'handle' : undefined;
  if (!method) {
    throw new AtomicQueuesValidationError(`@JobProcessor('${jobName}') ${owner}`, 'must have a process(job) or handle(job) method', handler);
  }
  return async (job) => (handler[method] as (j: Job) => unknown).call(handler, job);
}
