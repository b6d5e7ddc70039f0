import type { Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { Clock } from '../ports/clock.js';
import type { JobLifecycleEvent, JobLifecycleListener } from './worker.types.js';

/** Where an attempt runs: the worker's name (or a crashed worker's incarnation) and its queue. */
export interface AttemptSite {
  readonly name: string;
  readonly queueName: string;
}

/** The `WorkerManagerService.observe` listeners: every attempt's start and end, errors in a listener logged. */
export class JobLifecycleObservers {
  private readonly listeners = new Set<JobLifecycleListener>();

  constructor(
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  observe(listener: JobLifecycleListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(site: AttemptSite, job: Job, phase: 'start' | 'end', attempt: number, outcome?: 'completed' | 'failed', error?: Error): void {
    if (this.listeners.size === 0) return;
    const event: JobLifecycleEvent = {
      phase,
      workerName: site.name,
      nodeId: this.nodeId,
      queueName: site.queueName,
      job: { id: String(job.id), name: job.name, data: job.data, attemptsMade: job.attemptsMade },
      attempt,
      ...(outcome ? { outcome } : {}),
      ...(error ? { error } : {}),
      at: this.clock.now(),
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn(`job observer threw: ${String(err)}`);
      }
    }
  }
}
