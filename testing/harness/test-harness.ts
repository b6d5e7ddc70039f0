import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../../src/config/atomic-queues-config.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../../src/ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER, type QueueDriver } from '../../src/ports/queue-driver.js';
import { QueueManagerService } from '../../src/queues/queue-manager.service.js';
import { WorkerManagerService } from '../../src/workers/worker-manager.service.js';
import { InMemoryQueueDriver } from '../backend/in-memory-queue-driver.js';
import type { InMemoryQueueStore, StoreAddedJob, StoreRemoval } from '../backend/in-memory-store.js';
import { TestClock } from '../clock/test-clock.js';
import { describeExecution } from '../checkers/common.js';
import { formatHistoryCheck, type HistoryCheckResult } from '../checkers/history-check.js';
import type { EnqueuedJob, JobExecution } from '../history.js';
import { AtomicQueuesHarnessError } from './errors.js';
import { FAILED_FOR_GOOD, checkHarnessRun, type JobFate } from './harness-check.js';
import { HarnessHistory } from './harness-history.js';
import { describePendingJobs, pendingJobs, type PendingJob } from './pending-jobs.js';

/** Which failed executions are expected: a job name, a pattern of job names, or a predicate. */
export type ExpectedFailure = string | RegExp | ((execution: JobExecution) => boolean);

export interface HarnessRunOptions {
  /** Most clock time (TestClock) or real time (other clocks) to wait for idleness, ms. Default 600,000 (TestClock) / 10,000. */
  maxMs?: number;
}

const matchesName = (m: string | RegExp, jobName: string): boolean => (typeof m === 'string' ? jobName === m : m.test(jobName));
const matches = (m: ExpectedFailure, e: JobExecution): boolean => (typeof m === 'function' ? m(e) : matchesName(m, e.jobName));

/**
 * Test controller of an `AtomicQueuesTestingModule`: records every add and every attempt of every job
 * (testing/history.ts format), runs the engine until idle on the TestClock, simulates worker crashes and
 * verifies, in `afterEach`, that nothing was left pending, no processor threw unexpectedly, and the run kept the
 * module's guarantees (FIFO and one worker per entity, no lost job).
 */
@Injectable()
export class AtomicQueuesTestHarness implements OnModuleDestroy {
  private readonly log: HarnessHistory;
  private readonly expected: ExpectedFailure[] = [];
  private readonly deadIncarnations = new Set<string>();
  private readonly unsubscribe: () => void;
  private crashes = 0;

  constructor(
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clockPort: Clock,
    @Inject(ATOMIC_QUEUES_QUEUE_DRIVER) private readonly driver: QueueDriver,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    private readonly workers: WorkerManagerService,
    queues: QueueManagerService,
  ) {
    this.log = new HarnessHistory((queueName) => queues.getQueueEntity(queueName));
    // Subscribed at construction so jobs added and workers started in any onModuleInit / onApplicationBootstrap
    // are recorded.
    const unobserve = workers.observe((event) => {
      if (!this.deadIncarnations.has(event.workerName)) this.log.record(event);
    });
    const store = driver instanceof InMemoryQueueDriver ? driver.store : undefined;
    const prefix = `${config.keyPrefix}:`;
    const ours = (qualified: string) => (qualified.startsWith(prefix) ? qualified.slice(prefix.length) : undefined);
    const onAdded = (qualified: string, job: StoreAddedJob) => {
      const name = ours(qualified);
      if (name !== undefined) this.log.recordAdd(name, job);
    };
    const onRemoved = (qualified: string, jobIds: readonly string[], how: StoreRemoval) => {
      const name = ours(qualified);
      if (name !== undefined) this.log.recordRemoval(name, jobIds, how);
    };
    store?.on('added', onAdded).on('removed', onRemoved);
    this.unsubscribe = () => {
      unobserve();
      store?.off('added', onAdded).off('removed', onRemoved);
    };
  }

  /** The module's TestClock (throws when the module runs on another clock). */
  get clock(): TestClock {
    if (!(this.clockPort instanceof TestClock)) {
      throw new AtomicQueuesHarnessError(`the harness clock is only available with clock: 'test' (this module runs on ${this.clockPort.constructor.name})`);
    }
    return this.clockPort;
  }

  /** The in-memory queue store of the module (every queue's jobs), for assertions. */
  get store(): InMemoryQueueStore {
    if (!(this.driver instanceof InMemoryQueueDriver)) {
      throw new AtomicQueuesHarnessError(`the harness needs the in-memory queue driver (got a '${this.driver.kind}' driver)`);
    }
    return this.driver.store;
  }

  /**
   * Every attempt so far, in start order. Attempts still in flight have outcome 'running'. `seq` is the job's
   * position among the adds of its entity (see `enqueued()`).
   */
  history(): JobExecution[] {
    return this.log.executions();
  }

  /**
   * Every job added so far, in the order the queue store took them: per entity `seq` 0, 1, 2, … (first add of a
   * jobId), `queue`, `at` (clock time), and `unordered` for adds with a delay, a priority or LIFO. It ranks the
   * history for the checkers: `checkFifoPerEntity(harness.history(), harness.enqueued())`,
   * `checkNoLostOrDuplicated(harness.enqueued(), harness.history())`.
   */
  enqueued(): EnqueuedJob[] {
    void this.store; // throws a readable error off the in-memory driver (no add is seen there)
    return this.log.enqueued();
  }

  /**
   * Runs the checkers over this run as the module promises (see `verify()`): FIFO ranked by add order and a single
   * worker per entity on entity queues, no lost job on every queue. Returns the result (`formatHistoryCheck(result)`
   * prints it); `verify()` throws it.
   */
  async check(): Promise<HistoryCheckResult> {
    const store = this.store;
    await this.log.settled();
    const queueNames = new Set(store.queueNames());
    return checkHarnessRun({
      enqueued: this.log.enqueued(),
      history: this.log.executions(),
      isEntityQueue: (queueName) => this.log.isEntityQueue(queueName),
      fate: (queueName, jobId) => this.fate(store, queueNames, queueName, jobId),
    });
  }

  /** Jobs not settled yet (waiting, prioritized, delayed or active). */
  pendingJobs(): PendingJob[] {
    return pendingJobs(this.store, this.config.keyPrefix);
  }

  /** Moves the TestClock forward by `ms`, running every timer due on the way. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms);
  }

  /**
   * Runs the engine until no job is waiting, prioritized, delayed or active, and returns the history: on a
   * TestClock time jumps from timer to timer (retries' backoffs, delays, heartbeats, cron ticks, lock expiry),
   * on other clocks it polls. Throws, listing the jobs left, when that takes more than `maxMs`. Nothing is
   * removed (unlike BullMQ's `queue.drain()`, which deletes waiting jobs).
   */
  async runUntilIdle(options: HarnessRunOptions = {}): Promise<JobExecution[]> {
    const test = this.clockPort instanceof TestClock ? this.clockPort : undefined;
    const maxMs = options.maxMs ?? (test ? 600_000 : 10_000);
    if (!Number.isFinite(maxMs) || maxMs < 0) throw new AtomicQueuesHarnessError(`runUntilIdle: options.maxMs must be a finite number >= 0, got ${maxMs}`);
    const start = this.clockPort.now();
    const deadline = start + maxMs;
    for (;;) {
      if (test) await test.settle();
      await this.log.settled();
      const left = this.pendingJobs();
      if (left.length === 0) return this.history();
      const next = test ? test.pending()[0] : undefined;
      const due = test ? next?.due : this.clockPort.now() + 5;
      if (due === undefined || due > deadline) {
        throw new AtomicQueuesHarnessError(
          `runUntilIdle: still busy after ${this.clockPort.now() - start} ms of clock time (options.maxMs = ${maxMs}); jobs left:\n` +
            `${describePendingJobs(left)}\nlive workers on this node: ${this.workers.getLocalWorkerNames().join(', ') || 'none'} ` +
            '(does every queue with jobs get a worker: createWorker, or enableCronManager with a registered entity type?)',
        );
      }
      if (test) await test.advanceTo(due);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * The worker's node "dies": heartbeat refreshes stop (the heartbeat expires after heartbeatTTL on the clock), no
   * graceful close, no release; its in-flight attempt is recorded as 'crashed' and its job is recovered as stalled
   * once its lock expires. The service forgets the worker, so the cron (or createWorker) can start a replacement.
   */
  async crashWorker(workerName: string): Promise<void> {
    if (!this.workers.getLocalWorkerNames().includes(workerName)) {
      const live = this.workers.getLocalWorkerNames().join(', ') || 'none';
      throw new AtomicQueuesHarnessError(`crashWorker('${workerName}'): no live worker of that name on this node; live workers: ${live}`);
    }
    const incarnation = `${workerName}#crashed-${++this.crashes}`;
    this.deadIncarnations.add(incarnation);
    // The worker service's failure-injection seam; its synchronous part (the worker is gone) already ran.
    const killed = this.workers.crashLocalWorker(workerName, { incarnation });
    this.log.crash(this.config.nodeId, workerName);
    await killed;
  }

  /** Declares failed attempts that `verify()` must accept (job name, pattern of job names, or predicate). */
  expectFailure(matcher: ExpectedFailure): this {
    const ok = typeof matcher === 'string' ? matcher.length > 0 : matcher instanceof RegExp || typeof matcher === 'function';
    if (!ok) throw new AtomicQueuesHarnessError(`expectFailure: matcher must be a job name, a RegExp or a predicate (execution) => boolean, got ${String(matcher)}`);
    this.expected.push(matcher);
    return this;
  }

  /**
   * For `afterEach`: throws a readable report if jobs are left waiting/delayed/active, attempts are still running,
   * a processor threw without a matching `expectFailure`, a job failed for good without any processor failure
   * (stalled out) unless expected, or the run broke a guarantee (`check()`): an entity's jobs ran out of add order
   * or overlapped, or a job vanished without completing (not failed for good, not removed through the queue API).
   */
  async verify(): Promise<void> {
    await this.log.settled();
    const problems: string[] = [];
    const left = this.pendingJobs();
    if (left.length > 0) problems.push(`${left.length} job(s) not settled (call harness.runUntilIdle() first?):\n${describePendingJobs(left)}`);
    const history = this.history();
    const running = history.filter((e) => e.outcome === 'running');
    if (running.length > 0) problems.push(`${running.length} attempt(s) still running:\n${running.map((e) => `  ${describeExecution(e)}`).join('\n')}`);
    const unexpected = history.filter((e) => e.outcome === 'failed' && !this.expected.some((m) => matches(m, e)));
    if (unexpected.length > 0) {
      problems.push(
        `${unexpected.length} unexpected processor failure(s) (allow with harness.expectFailure(jobName | RegExp | predicate)):\n` +
          unexpected.map((e) => `  ${e.jobName}: ${describeExecution(e)}`).join('\n'),
      );
    }
    if (this.driver instanceof InMemoryQueueDriver) {
      const result = await this.check();
      const stalledOut = result.noLost.excused.filter(
        (x) => x.reason.startsWith(FAILED_FOR_GOOD) && !x.attempts.some((e) => e.outcome === 'failed') && !this.isExpected(x.job, x.attempts),
      );
      if (stalledOut.length > 0) {
        problems.push(
          `${stalledOut.length} job(s) failed for good without a processor failure (allow with harness.expectFailure):\n` +
            stalledOut.map((x) => `  ${x.entity} job ${x.job.jobId} ${x.job.jobName ?? ''} seq ${x.job.seq}: ${x.reason}`).join('\n'),
        );
      }
      if (!result.ok) problems.push(`the run broke the module's guarantees:\n${formatHistoryCheck(result)}`);
    }
    if (problems.length > 0) throw new AtomicQueuesHarnessError(`AtomicQueuesTestHarness.verify() failed:\n${problems.join('\n')}`);
  }

  /** A job failed for good with no failing attempt is expected when a matcher names it or a predicate accepts its last attempt. */
  private isExpected(job: EnqueuedJob, attempts: readonly JobExecution[]): boolean {
    const last = attempts.at(-1);
    return this.expected.some((m) => (typeof m === 'function' ? last !== undefined && m(last) : matchesName(m, job.jobName ?? '')));
  }

  /** Where a job that never completed ended up: still pending, failed for good, removed through the API, or gone. */
  private fate(store: InMemoryQueueStore, queueNames: ReadonlySet<string>, queueName: string, jobId: string): JobFate {
    const qualified = `${this.config.keyPrefix}:${queueName}`;
    const queue = queueNames.has(qualified) ? store.queue(qualified) : undefined;
    const state = queue?.stateOf(jobId) ?? 'unknown';
    if (state === 'failed') {
      const reason = queue?.getJob(jobId)?.failedReason;
      return reason === undefined ? { kind: 'failed' } : { kind: 'failed', reason };
    }
    if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized') return { kind: 'pending', state };
    const how = this.log.removal(queueName, jobId);
    return how === undefined ? { kind: 'gone' } : { kind: 'removed', how };
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
