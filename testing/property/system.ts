import type { EnqueuedJob, JobExecution } from '../history.js';
import type { EntityRef, JobStreamScenario, StreamJob } from './streams.js';

type MaybePromise<T> = T | Promise<T>;

/**
 * What a generated scenario drives: the `SimulatedEngine` here, later the real services on the in-memory backend
 * (an adapter that enqueues through QueueManagerService, advances the TestClock and crashes workers).
 */
export interface AtomicQueueSystem {
  enqueue(job: StreamJob): MaybePromise<void>;
  advance(ms: number): MaybePromise<void>;
  crash(entity: EntityRef): MaybePromise<void>;
  /** Runs until every enqueued job has settled (completed or failed for good). */
  runUntilIdle(): MaybePromise<void>;
  history(): MaybePromise<JobExecution[]>;
  /** Current time, stamped on enqueued jobs when available. */
  now?(): number;
}

export interface ScenarioRun {
  enqueued: EnqueuedJob[];
  history: JobExecution[];
}

/** Plays the scenario's ops in order, runs until idle, and returns what was enqueued and the execution history. */
export async function runScenario(system: AtomicQueueSystem, scenario: JobStreamScenario): Promise<ScenarioRun> {
  const enqueued: EnqueuedJob[] = [];
  for (const op of scenario.ops) {
    if (op.op === 'enqueue') {
      await system.enqueue(op.job);
      const { entityType, entityId, jobId, seq } = op.job;
      enqueued.push({ entityType, entityId, jobId, seq, ...(system.now ? { at: system.now() } : {}) });
    } else if (op.op === 'advance') await system.advance(op.ms);
    else await system.crash(op.entity);
  }
  await system.runUntilIdle();
  return { enqueued, history: await system.history() };
}
