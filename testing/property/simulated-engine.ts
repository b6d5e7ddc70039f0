import { entityQueueName, entityWorkerName } from '../../src/config/keys.js';
import { entityKey, type JobExecution } from '../history.js';
import type { EntityRef, StreamJob } from './streams.js';
import type { AtomicQueueSystem } from './system.js';

export interface SimulatedEngineOptions {
  /** Jobs of one entity allowed in flight at once. 1 is correct; anything else is a deliberate bug. */
  concurrencyPerEntity?: number;
  /**
   * Where a failed attempt's retry goes: 'in-place' (correct: it runs next) or 'back-of-queue' (deliberate bug:
   * later jobs of the entity overtake it).
   */
  retry?: 'in-place' | 'back-of-queue';
  /** Attempts per job (default 1: no retries). */
  maxAttempts?: number;
  /** What a crash does to in-flight attempts: 'requeue' (correct: re-run first) or 'drop' (deliberate bug: lost). */
  onCrash?: 'requeue' | 'drop';
  node?: string;
}

interface Attempt {
  job: StreamJob;
  attempt: number;
}

interface Running extends Attempt {
  execution: JobExecution;
  end: number;
}

interface EntityState {
  ref: EntityRef;
  waiting: Attempt[];
  running: Running[];
  /** Incremented on crash: the restarted worker gets a new name. */
  generation: number;
}

const RETRY_POLICIES = ['in-place', 'back-of-queue'] as const;
const CRASH_POLICIES = ['requeue', 'drop'] as const;

/**
 * A tiny pure, deterministic reference engine: one FIFO queue per entity served by one worker, simulated time.
 * It exists to test the property tools (and to be broken on purpose); it is not a model of BullMQ internals.
 */
export class SimulatedEngine implements AtomicQueueSystem {
  private time = 0;
  private readonly entities = new Map<string, EntityState>();
  private readonly executions: JobExecution[] = [];
  private readonly concurrency: number;
  private readonly retry: 'in-place' | 'back-of-queue';
  private readonly maxAttempts: number;
  private readonly onCrash: 'requeue' | 'drop';
  private readonly node: string;

  constructor(options: SimulatedEngineOptions = {}) {
    this.concurrency = options.concurrencyPerEntity ?? 1;
    this.retry = options.retry ?? 'in-place';
    this.maxAttempts = options.maxAttempts ?? 1;
    this.onCrash = options.onCrash ?? 'requeue';
    this.node = options.node ?? 'sim';
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new Error(`SimulatedEngine: concurrencyPerEntity must be an integer >= 1, got ${options.concurrencyPerEntity}`);
    }
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new Error(`SimulatedEngine: maxAttempts must be an integer >= 1, got ${options.maxAttempts}`);
    }
    if (!RETRY_POLICIES.includes(this.retry)) {
      throw new Error(`SimulatedEngine: retry must be one of ${RETRY_POLICIES.join(', ')}, got ${JSON.stringify(options.retry)}`);
    }
    if (!CRASH_POLICIES.includes(this.onCrash)) {
      throw new Error(`SimulatedEngine: onCrash must be one of ${CRASH_POLICIES.join(', ')}, got ${JSON.stringify(options.onCrash)}`);
    }
  }

  now(): number {
    return this.time;
  }

  enqueue(job: StreamJob): void {
    const state = this.state(job);
    state.waiting.push({ job, attempt: 1 });
    this.dispatch(state);
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`SimulatedEngine.advance: ms must be >= 0, got ${ms}`);
    this.runUntil(this.time + ms);
  }

  crash(entity: EntityRef): void {
    const state = this.state(entity);
    // The in-flight attempts are lost without an end; BullMQ's stalled check re-queues them in front, same attempt.
    for (const run of state.running) run.execution.outcome = 'crashed';
    if (this.onCrash === 'requeue') state.waiting.unshift(...state.running.map(({ job, attempt }) => ({ job, attempt })));
    state.running = [];
    state.generation++;
    this.dispatch(state);
  }

  runUntilIdle(): void {
    this.runUntil(Infinity);
  }

  history(): JobExecution[] {
    return this.executions.map((e) => ({ ...e }));
  }

  private state(ref: EntityRef): EntityState {
    const key = entityKey(ref);
    let state = this.entities.get(key);
    if (!state) {
      state = { ref: { entityType: ref.entityType, entityId: ref.entityId }, waiting: [], running: [], generation: 0 };
      this.entities.set(key, state);
    }
    return state;
  }

  private dispatch(state: EntityState): void {
    while (state.running.length < this.concurrency && state.waiting.length > 0) {
      const next = state.waiting.shift()!;
      const { job } = next;
      const execution: JobExecution = {
        entityType: job.entityType,
        entityId: job.entityId,
        queue: entityQueueName(job.entityType, job.entityId),
        jobId: job.jobId,
        jobName: 'work',
        seq: job.seq,
        worker: `${entityWorkerName(job.entityType, job.entityId)}#${state.generation}`,
        node: this.node,
        attempt: next.attempt,
        start: this.time,
        outcome: 'running',
      };
      this.executions.push(execution);
      state.running.push({ ...next, execution, end: this.time + job.durationMs });
    }
  }

  /** Completes attempts in time order (ties: entity creation order, then start order) up to `target`. */
  private runUntil(target: number): void {
    for (;;) {
      let next = Infinity;
      for (const state of this.entities.values()) for (const run of state.running) next = Math.min(next, run.end);
      if (next > target || next === Infinity) break;
      this.time = next;
      for (const state of this.entities.values()) {
        const done = state.running.filter((r) => r.end === next);
        if (done.length === 0) continue;
        state.running = state.running.filter((r) => r.end !== next);
        for (const run of done) this.finish(state, run);
        this.dispatch(state);
      }
    }
    if (target !== Infinity) this.time = target;
  }

  private finish(state: EntityState, run: Running): void {
    const failed = run.attempt <= run.job.failTimes;
    run.execution.end = this.time;
    run.execution.outcome = failed ? 'failed' : 'completed';
    if (failed) run.execution.error = `planned failure ${run.attempt}/${run.job.failTimes}`;
    if (!failed || run.attempt >= this.maxAttempts) return;
    const retry = { job: run.job, attempt: run.attempt + 1 };
    if (this.retry === 'in-place') state.waiting.unshift(retry);
    else state.waiting.push(retry);
  }
}
