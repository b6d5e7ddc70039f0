import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { WorkerManagerService } from '@nestjs/atomic-queues';
import { EnqueueLog, JsonlHistoryRecorder, type EnqueuedJob } from '@nestjs/atomic-queues/testing';
import { APP_CONFIG, type AppConfig } from './config.js';

/**
 * Optional run recording for load verification: job executions of this node (AQ_HISTORY_FILE) and the enqueues
 * it acknowledged (AQ_ENQUEUE_FILE), both JSONL, merged later with readJsonlHistory / readEnqueueLog.
 */
@Injectable()
export class HistoryRecording implements OnModuleInit, OnApplicationShutdown {
  private recorder?: JsonlHistoryRecorder;
  private enqueues?: EnqueueLog;
  private unsubscribe?: () => void;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly workers: WorkerManagerService,
  ) {}

  onModuleInit(): void {
    if (this.config.historyFile) {
      this.recorder = new JsonlHistoryRecorder(this.config.historyFile);
      this.unsubscribe = this.workers.observe(this.recorder.listener);
    }
    if (this.config.enqueueFile) this.enqueues = new EnqueueLog(this.config.enqueueFile);
  }

  /** Records an acknowledged enqueue (no-op unless AQ_ENQUEUE_FILE is set). */
  enqueued(job: Omit<EnqueuedJob, 'at' | 'status'>): void {
    this.enqueues?.record({ ...job, at: Date.now(), status: 'ok' });
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.recorder?.close();
    this.enqueues?.close();
    this.enqueues = undefined; // a request still in flight during shutdown must not write after close
  }
}
