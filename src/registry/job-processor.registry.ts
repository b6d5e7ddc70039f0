import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { Job } from 'bullmq';
import { AtomicQueuesValidationError, DuplicateJobProcessorError, JobProcessorNotFoundError } from '../errors.js';
import { assertNonEmptyString } from '../validation.js';
import { JOB_PROCESSOR_METADATA, type JobHandler } from './job-processor.decorator.js';

export type JobProcessorFn<T = any, R = any> = (job: Job<T>) => Promise<R>;

/**
 * What `getProcessor(jobName)` returns: an object with `process(job)`. For a `@JobProcessor` class with a
 * `process` method it is the provider instance itself; a handler with only `handle(job)`, or a plain function
 * given to `register`, is wrapped as `{ process }`.
 */
export interface RegisteredJobProcessor<T = any, R = any> {
  process(job: Job<T>): Promise<R> | R;
}

interface Entry {
  owner: string;
  processor: RegisteredJobProcessor;
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
    this.processors.set(jobName, { owner, processor: toProcessor(jobName, handler, owner) });
  }

  /**
   * The processor of `jobName` (an object with `process(job)`), or undefined when none is registered:
   * `const p = registry.getProcessor(job.name); if (!p) throw …; await p.process(job);`
   */
  getProcessor<T = any, R = any>(jobName: string): RegisteredJobProcessor<T, R> | undefined {
    return this.processors.get(jobName)?.processor;
  }

  hasProcessor(jobName: string): boolean {
    return this.processors.has(jobName);
  }

  getJobNames(): string[] {
    return [...this.processors.keys()].sort();
  }

  /** Runs the job with the processor registered for its name; throws JobProcessorNotFoundError when none. */
  async dispatch(job: Job): Promise<unknown> {
    const processor = this.processors.get(job.name)?.processor;
    if (!processor) throw new JobProcessorNotFoundError(job.name);
    return processor.process(job);
  }
}

function handlerName(handler: JobHandler | ((job: Job) => unknown)): string {
  if (typeof handler === 'function') return handler.name || 'anonymous function';
  return (handler as object).constructor?.name ?? 'object';
}

function toProcessor(jobName: string, handler: JobHandler | ((job: Job) => unknown), owner: string): RegisteredJobProcessor {
  if (typeof handler === 'function') return { process: (job) => handler(job) };
  if (typeof handler.process === 'function') return handler as RegisteredJobProcessor;
  if (typeof handler.handle === 'function') {
    const handle = handler.handle;
    return { process: (job) => handle.call(handler, job) };
  }
  throw new AtomicQueuesValidationError(`@JobProcessor('${jobName}') ${owner}`, 'must have a process(job) or handle(job) method', handler);
}
