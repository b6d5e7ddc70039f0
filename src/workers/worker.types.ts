import type { Job, Worker } from 'bullmq';
import type { WorkerDefaultsConfig } from '../config/atomic-queues-config.js';

export interface WorkerEvents {
  onReady?(worker: Worker, workerName: string): void | Promise<void>;
  /** After the job is stored as completed. */
  onCompleted?(job: Job, workerName: string): void | Promise<void>;
  /** After the job is stored as failed for good (in-place retries exhausted, or no processor). */
  onFailed?(job: Job | undefined, error: Error, workerName: string): void | Promise<void>;
  /** After the worker stopped consuming and its heartbeat was released. */
  onClosed?(workerName: string, reason: WorkerCloseReason): void | Promise<void>;
}

/** `idle`: an engine-managed worker gave its entity back after `engine.idleReleaseMs` without a job. */
export type WorkerCloseReason = 'signal' | 'node-shutdown' | 'heartbeat-lost' | 'closed' | 'idle';

export interface CreateWorkerOptions<T = any, R = any> {
  /** Unique across the cluster: only one live worker per name (heartbeat `${keyPrefix}:workers:${workerName}`). */
  workerName: string;
  queueName: string;
  /** Runs each job. Omitted: dispatch by job name through JobProcessorRegistry (@JobProcessor providers). */
  processor?: (job: Job<T>) => Promise<R> | R;
  events?: WorkerEvents;
  /** Per-worker override of `workerDefaults` (validated the same way). */
  config?: WorkerDefaultsConfig;
  /**
   * Entity the worker serves (for the index and getEntityWorkers). Defaults to the entity `queueName` was
   * created for (QueueManagerService.getOrCreateEntityQueue, in any process).
   */
  entity?: { entityType: string; entityId: string };
}

export type CreateWorkerResult =
  | { created: true; workerName: string; nodeId: string; worker: Worker }
  /** A live heartbeat exists for the name (`owner` = nodeId holding it, possibly this node). No consumer started. */
  | { created: false; workerName: string; reason: 'alive'; owner: string }
  /** This node is shutting down and starts no new workers. */
  | { created: false; workerName: string; reason: 'shutting-down'; owner: string }
  /**
   * Called from an engine spawn (dispatcher/cron) while this node serves `engine.maxActiveEntitiesPerNode`
   * entities: the entity is left ready for a node with room.
   */
  | { created: false; workerName: string; reason: 'at-capacity'; owner: string };

export interface JobSnapshot {
  id: string;
  name: string;
  data: unknown;
  /** BullMQ's counter; in-place retries do not change it (use the event's `attempt`). */
  attemptsMade: number;
}

/** One attempt of a job, reported to `WorkerManagerService.observe` listeners at its start and at its end. */
export interface JobLifecycleEvent {
  phase: 'start' | 'end';
  workerName: string;
  nodeId: string;
  queueName: string;
  job: JobSnapshot;
  /** 1-based attempt number (in-place retries count up; survives a crash when attempts > 1). */
  attempt: number;
  outcome?: 'completed' | 'failed';
  error?: Error;
  /** Clock time. */
  at: number;
}

export type JobLifecycleListener = (event: JobLifecycleEvent) => void;

export interface EntityWorkerInfo {
  workerName: string;
  state: string;
  nodeId: string;
  updatedAt: number;
  /** A heartbeat for the name exists right now. */
  alive: boolean;
}
