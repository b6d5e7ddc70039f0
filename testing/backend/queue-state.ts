import { ErrorCode, type JobJson, type JobsOptions, type KeepJobs, type ParentKeys } from 'bullmq';
import type { Clock, ClockTimer } from '../../src/ports/clock.js';
import { Deduplication, deduplicateJob, finalizeDeduplication, releaseDeduplicationOnRemoval } from './deduplication.js';
import { backendError } from './errors.js';
import { QueueMetrics } from './metrics.js';
import { JobSchedulers } from './schedulers.js';
import { QueueFlows, type ChildLinks, type QueueLookup } from './flows.js';
import { RateLimiterKey, assertLimitHasDuration, countTakenJob, rateLimitFor, rateLimitTtl, type LimiterOptions } from './rate-limit.js';
import { SortedSet, rangeByIndex } from './sorted-set.js';

/** One stored job: the decoded job hash of the Redis backend, plus its lock and logs. */
export interface StoredJob {
  id: string;
  name: string;
  data: string;
  opts: JobsOptions;
  progress: JobJson['progress'];
  attemptsMade: number;
  attemptsStarted: number;
  stalledCounter: number;
  timestamp: number;
  delay: number;
  priority: number;
  processedOn?: number;
  finishedOn?: number;
  failedReason?: string;
  stacktrace?: string;
  returnvalue?: string;
  processedBy?: string;
  deferredFailure?: string;
  /** The id of the job scheduler that produced the job (`rjk`). */
  repeatJobKey?: string;
  lock?: { token: string; expiresAt: number };
  logs: string[];
  /** The parent's key (`<prefix>:<queue>:<id>`) and reference, for a child job (flows.ts). */
  parentKey?: string;
  parent?: ParentKeys;
  /** For a parent job: its children (flows.ts). */
  children?: ChildLinks;
}

/** What `moveToActive` and the `fetchNext` variants return (BullMQ's raw2NextJobData shape). */
export type NextJobData = [JobJson | null, string | number, number, number] | [];

export interface StreamEvent {
  seq: number;
  id: string;
  fields: string[];
}

interface Waiter {
  wake(): void;
}

export interface FetchOptions {
  token: string;
  lockDuration: number;
  name?: string;
  /** The Worker's `limiter` option (moveToActive's `opts.limiter`). */
  limiter?: LimiterOptions;
}

const PRIORITY_SHIFT = 0x100000000;
const STALLED_REASON = 'job stalled more than allowable limit';

/**
 * All state of one queue (`<prefix>:<name>`) and its operations, mirroring the Lua scripts of BullMQ's Redis
 * backend (list orders included: `wait`/`active` are kept in Redis list order, index 0 = most recently pushed,
 * jobs are taken from the end). Every method is synchronous, so each operation is atomic like a Lua script.
 */
export class QueueState {
  readonly jobs = new Map<string, StoredJob>();
  /** Redis list order: LPUSH = unshift (back of the line), RPUSH = push (head of the line), next job = last. */
  readonly wait: string[] = [];
  readonly active: string[] = [];
  readonly prioritized = new SortedSet();
  /** Score = due time * 0x1000 + sequence, like BullMQ's delayed set. */
  readonly delayed = new SortedSet();
  readonly completed = new SortedSet();
  readonly failed = new SortedSet();
  readonly stalled = new Set<string>();
  readonly meta = new Map<string, string>();
  readonly events: StreamEvent[] = [];
  readonly waiters = new Set<Waiter>();
  readonly eventWaiters = new Set<Waiter>();
  /** The `repeat` sorted set and hashes (schedulers.ts). */
  readonly schedulers = new JobSchedulers(this);
  /** The `metrics:completed` / `metrics:failed` keys (metrics.ts). */
  readonly metrics = new QueueMetrics();
  /** The `limiter` key (rate-limit.ts). */
  readonly limiter: RateLimiterKey;
  /** The `de:<id>` / `dn:<id>` keys (deduplication.ts). */
  readonly deduplication: Deduplication;
  private idCounter = 0;
  private priorityCounter = 0;
  private delayedCounter = 0;
  private eventSeq = 0;
  private stalledCheckUntil = 0;
  private delayTimer: ClockTimer | undefined;
  /** Parent/child jobs: the waiting-children state and the parent links (flows.ts). */
  readonly flows: QueueFlows;

  constructor(
    readonly qualifiedName: string,
    private readonly clock: Clock,
    private readonly onStalled: (queue: string, jobId: string) => void,
    lookup: QueueLookup = () => undefined,
  ) {
    this.limiter = new RateLimiterKey(clock, qualifiedName, () => this.notify());
    this.deduplication = new Deduplication(clock);
    this.flows = new QueueFlows(this, lookup);
  }

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- events & wake-ups

  addEvent(...fields: (string | number)[]): string {
    const seq = ++this.eventSeq;
    const id = `${this.now()}-${seq}`;
    this.events.push({ seq, id, fields: fields.map(String) });
    const max = Number(this.meta.get('opts.maxLenEvents') ?? 10000);
    if (this.events.length > max) this.events.splice(0, this.events.length - max);
    for (const w of [...this.eventWaiters]) w.wake();
    return id;
  }

  lastEventSeq(): number {
    return this.eventSeq;
  }

  eventsAfter(seq: number): StreamEvent[] {
    return this.events.filter((e) => e.seq > seq);
  }

  isPaused(): boolean {
    return this.meta.has('paused');
  }

  isMaxed(): boolean {
    const concurrency = this.meta.get('concurrency');
    return concurrency !== undefined && this.active.length >= Number(concurrency);
  }

  /**
   * True when `moveToActive` would hand out a job right now (the marker of the Redis backend); with a worker's
   * `limiter`, false while its rate-limit window is full.
   */
  hasWork(limiter?: LimiterOptions): boolean {
    this.promoteDueDelayed();
    if (rateLimitTtl(this.limiter, rateLimitFor(this.meta, limiter).maxJobs) > 0) return false;
    return !this.isPaused() && !this.isMaxed() && (this.wait.length > 0 || this.prioritized.size > 0);
  }

  /** Wakes blocked `waitForJob` callers when a job can be taken. */
  notify(): void {
    if (this.waiters.size === 0 || !this.hasWork()) return;
    for (const w of [...this.waiters]) w.wake();
  }

  // ---------------------------------------------------------------- jobs

  getJob(jobId: string): StoredJob | undefined {
    return this.jobs.get(jobId);
  }

  requireJob(jobId: string, command: string): StoredJob {
    const job = this.jobs.get(jobId);
    if (!job) throw backendError(ErrorCode.JobNotExist, jobId, command);
    return job;
  }

  toJobJson(job: StoredJob): JobJson {
    return {
      id: job.id,
      name: job.name,
      data: job.data,
      opts: structuredClone(job.opts),
      progress: structuredClone(job.progress),
      attemptsMade: job.attemptsMade,
      attemptsStarted: job.attemptsStarted,
      stalledCounter: job.stalledCounter,
      timestamp: job.timestamp,
      delay: job.delay,
      priority: job.priority,
      processedOn: job.processedOn,
      finishedOn: job.finishedOn,
      failedReason: job.failedReason as string,
      stacktrace: job.stacktrace,
      returnvalue: job.returnvalue as string,
      processedBy: job.processedBy,
      deferredFailure: job.deferredFailure,
      repeatJobKey: job.repeatJobKey,
      parentKey: job.parentKey,
      parent: structuredClone(job.parent),
      ...(job.opts.deduplication?.id !== undefined && {
        deduplicationId: job.opts.deduplication.id,
        debounceId: job.opts.deduplication.id,
      }),
    };
  }

  lockHeld(job: StoredJob): boolean {
    return !!job.lock && job.lock.expiresAt > this.now();
  }

  /**
   * Adds a job (addStandardJob / addDelayedJob / addPrioritizedJob, or addParentJob with `asParent`). Returns the
   * id; an existing id is kept. Parent links are flows.ts's (QueueFlows#add).
   */
  addJob(json: JobJson, jobId: string | undefined, asParent = false): string {
    const id = jobId ? String(jobId) : String(++this.idCounter);
    if (this.jobs.has(id)) {
      this.addEvent('event', 'duplicated', 'jobId', id);
      return id;
    }
    // Job instances stamp Date.now(); the stored job uses the store's clock so delays follow it.
    const timestamp = typeof json.opts?.timestamp === 'number' ? json.opts.timestamp : this.now();
    const deduplicatedTo = deduplicateJob(this, json, id, timestamp);
    if (deduplicatedTo !== undefined) return deduplicatedTo;
    this.storeAndEnqueue(json, id, timestamp, asParent);
    return id;
  }

  /**
   * storeAndEnqueueJob.lua: stores a new job, created at `timestamp`, and puts it in delayed, prioritized or wait
   * (or, `asParent`, in waiting-children as addParentJob.lua).
   */
  storeAndEnqueue(json: Pick<JobJson, 'name' | 'data' | 'opts' | 'progress' | 'repeatJobKey'>, id: string, timestamp: number, asParent = false): void {
    const opts = structuredClone(json.opts ?? {});
    const job: StoredJob = {
      id,
      name: json.name,
      data: json.data ?? '{}',
      opts,
      progress: json.progress ?? 0,
      attemptsMade: 0,
      attemptsStarted: 0,
      stalledCounter: 0,
      timestamp,
      delay: typeof opts.delay === 'number' && opts.delay > 0 ? opts.delay : 0,
      priority: opts.priority ?? 0,
      repeatJobKey: json.repeatJobKey,
      logs: [],
    };
    this.jobs.set(id, job);
    this.addEvent('event', 'added', 'jobId', id, 'name', job.name);
    if (asParent) {
      this.flows.addWaitingChildren(job);
    } else if (job.delay > 0) {
      this.addDelayed(job, job.timestamp + job.delay);
    } else {
      this.enqueue(job, opts.lifo ? 'head' : 'tail');
      this.addEvent('event', 'waiting', 'jobId', id);
    }
    this.notify();
  }

  /** The queue's `id` counter (INCR): the next automatic job id. */
  nextJobId(): string {
    return String(++this.idCounter);
  }

  /** Puts a job into wait (or prioritized when it has a priority). */
  enqueue(job: StoredJob, where: 'head' | 'tail'): void {
    if (job.priority > 0) {
      // getPriorityScore: INCR of the priority counter, so the first score of a priority is `priority << 32 | 1`.
      this.prioritized.add(job.id, job.priority * PRIORITY_SHIFT + (++this.priorityCounter % PRIORITY_SHIFT));
    } else if (where === 'head') {
      this.wait.push(job.id);
    } else {
      this.wait.unshift(job.id);
    }
  }

  addDelayed(job: StoredJob, due: number): void {
    this.delayed.add(job.id, due * 0x1000 + (this.delayedCounter++ & 0xfff));
    this.addEvent('event', 'delayed', 'jobId', job.id, 'delay', due);
    this.armDelayTimer();
  }

  /** Schedules (on the clock) the promotion of the earliest delayed job. A ref'd timer: it is pending work. */
  armDelayTimer(): void {
    this.clock.clear(this.delayTimer);
    this.delayTimer = undefined;
    const first = this.delayed.first();
    if (!first) return;
    const due = Math.floor(first.score / 0x1000);
    this.delayTimer = this.clock.setTimeout(() => {
      this.delayTimer = undefined;
      this.promoteDueDelayed();
      this.armDelayTimer();
      this.notify();
    }, Math.max(0, due - this.now()));
  }

  stopTimers(): void {
    this.clock.clear(this.delayTimer);
    this.delayTimer = undefined;
  }

  /** promoteDelayedJobs.lua: every delayed job due by now goes to wait/prioritized. */
  promoteDueDelayed(): void {
    for (const id of this.delayed.upTo((this.now() + 1) * 0x1000 - 1)) this.undelay(id);
  }

  /** One delayed job to wait/prioritized; does not re-arm the delay timer. */
  private undelay(jobId: string): void {
    this.delayed.delete(jobId);
    const job = this.jobs.get(jobId);
    if (!job) return;
    job.delay = 0;
    this.enqueue(job, 'tail');
    this.addEvent('event', 'waiting', 'jobId', jobId, 'prev', 'delayed');
  }

  removeFromActive(jobId: string): boolean {
    const index = this.active.lastIndexOf(jobId);
    if (index < 0) return false;
    this.active.splice(index, 1);
    return true;
  }

  /** removeLock.lua. Returns an error code < 0 or 0. */
  releaseLock(job: StoredJob, token: string): number {
    if (token === '0') return 0;
    if (job.lock && this.lockHeld(job) && job.lock.token === token) {
      job.lock = undefined;
      this.stalled.delete(job.id);
      return 0;
    }
    return this.lockHeld(job) ? ErrorCode.JobLockMismatch : ErrorCode.JobLockNotExist;
  }

  /** Common head of the scripts that take a job out of active: lock check, field updates, LREM from active. */
  private leaveActive(jobId: string, token: string, command: string, fields?: Record<string, unknown>): StoredJob {
    const job = this.requireJob(jobId, command);
    const code = this.releaseLock(job, token);
    if (code < 0) throw backendError(code, jobId, command, 'active');
    this.applyFields(job, fields);
    if (!this.removeFromActive(jobId)) throw backendError(ErrorCode.JobNotInState, jobId, command, 'active');
    return job;
  }

  private applyFields(job: StoredJob, fields: Record<string, unknown> | undefined): void {
    if (!fields) return;
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (key === 'failedReason') job.failedReason = String(value);
      else if (key === 'stacktrace') job.stacktrace = String(value);
      else if (key === 'returnvalue') job.returnvalue = String(value);
      // telemetry metadata (`tm`) has no meaning here
    }
  }

  /** moveToActive.lua / fetchNextJob.lua. The delay-until slot is always 0: due delayed jobs are promoted by clock timers. */
  fetchNext(opts: FetchOptions): NextJobData {
    this.promoteDueDelayed();
    const limit = rateLimitFor(this.meta, opts.limiter);
    const limitedFor = rateLimitTtl(this.limiter, limit.maxJobs);
    if (limitedFor > 0) return [null, 0, limitedFor, 0];
    if (this.isPaused() || this.isMaxed()) return [null, 0, 0, 0];
    if (this.wait.length > 0 || this.prioritized.size > 0) assertLimitHasDuration(limit);
    let jobId = this.wait.pop();
    if (jobId === undefined) {
      const first = this.prioritized.first();
      if (first) {
        this.prioritized.delete(first.member);
        jobId = first.member;
      }
    }
    if (jobId === undefined) return [null, 0, 0, 0];
    this.active.unshift(jobId);
    const job = this.jobs.get(jobId)!;
    countTakenJob(this.limiter, limit, job.deferredFailure !== undefined);
    const now = this.now();
    if (opts.token !== '0') job.lock = { token: opts.token, expiresAt: now + opts.lockDuration };
    job.processedOn = now;
    if (opts.name) job.processedBy = opts.name;
    job.attemptsStarted += 1;
    this.addEvent('event', 'active', 'jobId', jobId, 'prev', 'waiting');
    return [this.toJobJson(job), jobId, 0, 0];
  }

  /** moveToFinished.lua for 'completed' and 'failed'. */
  finish(
    target: 'completed' | 'failed',
    jobId: string,
    value: string,
    keep: KeepJobs,
    token: string,
    fetchNext: FetchOptions | undefined,
    fields?: Record<string, unknown>,
  ): { result: NextJobData; finishedOn: number } {
    if (target === 'completed') this.flows.assertCanComplete(jobId);
    const job = this.leaveActive(jobId, token, 'moveToFinished', fields);
    const now = this.now();
    finalizeDeduplication(this, job, now);
    this.flows.onFinished(job, target, value, now);
    job.attemptsMade += 1;
    const set = target === 'completed' ? this.completed : this.failed;
    const count = 'count' in keep ? keep.count : undefined;
    if (count !== 0) {
      set.add(jobId, now);
      if (target === 'completed') job.returnvalue = value;
      else {
        job.failedReason = value;
        job.deferredFailure = undefined;
      }
      job.finishedOn = now;
      if ('age' in keep && keep.age !== undefined) this.trimByAge(set, now - keep.age * 1000, keep.limit ?? 1000);
      if (count !== undefined && count > 0) this.trimByCount(set, count);
    } else {
      this.jobs.delete(jobId);
      if (job.parentKey) this.flows.detach(jobId, false, job.parentKey);
    }
    this.addEvent('event', target, 'jobId', jobId, target === 'completed' ? 'returnvalue' : 'failedReason', value, 'prev', 'active');
    if (target === 'failed' && job.attemptsMade >= (job.opts.attempts ?? 0)) {
      this.addEvent('event', 'retries-exhausted', 'jobId', jobId, 'attemptsMade', job.attemptsMade);
    }
    const next = this.afterLeavingActive(fetchNext);
    return { result: next, finishedOn: now };
  }

  /** Common tail of the finishing scripts: fetch the next job, emit 'drained', wake waiters (a slot freed). */
  private afterLeavingActive(fetchNext: FetchOptions | undefined): NextJobData {
    let next: NextJobData = [];
    if (fetchNext) {
      const fetched = this.fetchNext(fetchNext);
      if (fetched[0]) next = fetched;
      else if ((fetched[2] ?? 0) > 0) {
        // Rate limited: the script returns the limit delay at once (no 'drained').
        this.notify();
        return fetched;
      }
    }
    if (this.wait.length === 0 && this.active.length === 0 && this.prioritized.size === 0) {
      this.addEvent('event', 'drained');
    }
    this.notify();
    return next;
  }

  private trimByAge(set: SortedSet, cutoff: number, limit: number): void {
    const old = set.upTo(cutoff).reverse().slice(0, limit);
    for (const id of old) {
      set.delete(id);
      this.flows.detach(id, false);
      this.jobs.delete(id);
    }
  }

  private trimByCount(set: SortedSet, keep: number): void {
    const members = set.members();
    for (const id of members.slice(0, Math.max(0, members.length - keep))) {
      set.delete(id);
      this.flows.detach(id, false);
      this.jobs.delete(id);
    }
  }

  /** moveToDelayed.lua (retry with backoff, or Job#moveToDelayed). */
  moveToDelayed(
    jobId: string,
    delay: number,
    token: string,
    opts: { skipAttempt?: boolean; fieldsToUpdate?: Record<string, unknown> },
    fetchNext: FetchOptions | undefined,
  ): NextJobData {
    const job = this.leaveActive(jobId, token, 'moveToDelayed', opts.fieldsToUpdate);
    if (!opts.skipAttempt) job.attemptsMade += 1;
    job.delay = delay;
    this.addDelayed(job, this.now() + delay);
    return this.afterLeavingActive(fetchNext);
  }

  /** retryJob.lua: immediate retry, back into wait (LPUSH, i.e. behind the waiting jobs, unless lifo). */
  retryActive(jobId: string, lifo: boolean, token: string, fields?: Record<string, unknown>): void {
    this.promoteDueDelayed();
    const job = this.leaveActive(jobId, token, 'retryJob', fields);
    this.enqueue(job, lifo ? 'head' : 'tail');
    job.attemptsMade += 1;
    this.addEvent('event', 'waiting', 'jobId', jobId, 'prev', 'active');
    this.afterLeavingActive(undefined);
  }

  /**
   * moveJobFromActiveToWait.lua (a RateLimitError from the processor): back to the head of wait, or in front of
   * its priority. Returns the limiter's milliseconds left (0 when it has none).
   */
  activeToWait(jobId: string, token: string): number {
    const job = this.requireJob(jobId, 'moveJobFromActiveToWait');
    const code = this.releaseLock(job, token);
    if (code < 0) throw backendError(code, jobId, 'moveJobFromActiveToWait', 'active');
    if (this.removeFromActive(jobId)) {
      if (job.priority > 0) this.prioritized.add(jobId, job.priority * PRIORITY_SHIFT);
      else this.wait.push(jobId);
      this.addEvent('event', 'waiting', 'jobId', jobId, 'prev', 'active');
      this.notify();
    }
    const pttl = this.limiter.pttl();
    return pttl > 0 ? pttl : 0;
  }

  /** moveStalledJobsToWait.lua: two-phase detection (mark active jobs, recover the marked ones whose lock is gone). */
  moveStalledJobsToWait(maxStalledCount: number, stalledInterval: number): string[] {
    const now = this.now();
    if (this.stalledCheckUntil > now) return [];
    this.stalledCheckUntil = now + stalledInterval;
    const recovered: string[] = [];
    const marked = [...this.stalled];
    this.stalled.clear();
    for (const jobId of marked) {
      const job = this.jobs.get(jobId);
      if (!job || this.lockHeld(job)) continue;
      if (!this.removeFromActive(jobId)) continue;
      job.lock = undefined;
      job.stalledCounter += 1;
      if (job.stalledCounter > maxStalledCount && !this.schedulers.isRepeatable(job)) job.deferredFailure = STALLED_REASON;
      this.wait.push(jobId); // RPUSH: head of the line
      this.addEvent('event', 'waiting', 'jobId', jobId, 'prev', 'active');
      this.addEvent('event', 'stalled', 'jobId', jobId);
      recovered.push(jobId);
      this.onStalled(this.qualifiedName, jobId);
    }
    for (const id of this.active) this.stalled.add(id);
    if (recovered.length) this.notify();
    return recovered;
  }

  extendLock(jobId: string, token: string, duration: number): boolean {
    const job = this.jobs.get(jobId);
    if (!job || !job.lock || !this.lockHeld(job) || job.lock.token !== token) return false;
    job.lock.expiresAt = this.now() + duration;
    this.stalled.delete(jobId);
    return true;
  }

  // ---------------------------------------------------------------- queue-level operations

  pause(pause: boolean): void {
    if (pause) this.meta.set('paused', '1');
    else this.meta.delete('paused');
    this.addEvent('event', pause ? 'paused' : 'resumed');
    this.notify();
  }

  /**
   * Removes a job from whichever state holds it and deletes it, as removeJob.lua (`hard`): it leaves its parent
   * (a freed parent of this queue goes too), and its deduplication key is released.
   */
  removeJob(jobId: string): void {
    this.flows.detach(jobId, true);
    const job = this.jobs.get(jobId);
    if (job) releaseDeduplicationOnRemoval(this, job);
    const i = this.wait.indexOf(jobId);
    if (i >= 0) this.wait.splice(i, 1);
    this.removeFromActive(jobId);
    this.prioritized.delete(jobId);
    if (this.delayed.delete(jobId)) this.armDelayTimer();
    this.completed.delete(jobId);
    this.failed.delete(jobId);
    this.stalled.delete(jobId);
    this.flows.waitingChildren.delete(jobId);
    this.jobs.delete(jobId);
  }

  /** drain.lua: returns the removed ids. A job scheduler's current iteration stays. */
  drain(delayed: boolean): string[] {
    const ids = [...this.wait, ...this.prioritized.members(), ...(delayed ? this.delayed.members() : [])].filter(
      (id) => !this.schedulers.isCurrentIteration(this.jobs.get(id)!),
    );
    for (const id of ids) this.removeJob(id);
    return ids;
  }

  /** Promotes one delayed job now (promote.lua). */
  promote(jobId: string): void {
    if (!this.delayed.has(jobId)) throw backendError(ErrorCode.JobNotInState, jobId, 'promote', 'delayed');
    this.undelay(jobId);
    this.armDelayTimer();
    this.notify();
  }

  changeDelay(jobId: string, delay: number): void {
    this.requireJob(jobId, 'changeDelay');
    if (!this.delayed.has(jobId)) throw backendError(ErrorCode.JobNotInState, jobId, 'changeDelay', 'delayed');
    const job = this.jobs.get(jobId)!;
    job.delay = delay;
    this.delayed.delete(jobId);
    this.addDelayed(job, this.now() + delay);
  }

  /**
   * changePriority.lua: a job in wait or prioritized is re-added with the new priority (`lifo`: RPUSH into wait for
   * priority 0, or the front of its priority band, score `priority << 32`, as pushBackJobWithPriority); in any other
   * state only the stored priority changes. The job's options are left as they were.
   */
  changePriority(jobId: string, priority: number, lifo: boolean): void {
    const job = this.requireJob(jobId, 'changePriority');
    const i = this.wait.indexOf(jobId);
    const queued = this.prioritized.delete(jobId) || i >= 0;
    if (i >= 0) this.wait.splice(i, 1);
    job.priority = priority;
    if (!queued) return;
    if (lifo && priority > 0) this.prioritized.add(job.id, priority * PRIORITY_SHIFT);
    else this.enqueue(job, lifo ? 'head' : 'tail');
    this.notify();
  }

  /** reprocessJob.lua (Job#retry). */
  reprocess(jobId: string, state: 'failed' | 'completed', resetAttemptsMade: boolean, resetAttemptsStarted: boolean): void {
    // reprocessJob.lua checks only that the job exists and is in the finished set (no lock check).
    const job = this.requireJob(jobId, 'reprocessJob');
    const set = state === 'failed' ? this.failed : this.completed;
    if (!set.delete(jobId)) throw backendError(ErrorCode.JobNotInState, jobId, 'reprocessJob', state);
    this.resetFinished(job, state);
    if (resetAttemptsMade) job.attemptsMade = 0;
    if (resetAttemptsStarted) job.attemptsStarted = 0;
    this.enqueue(job, job.opts.lifo ? 'head' : 'tail');
    this.flows.moveChildBackToParentDependencies(job, state);
    this.addEvent('event', 'waiting', 'jobId', jobId, 'prev', state);
    this.notify();
  }

  private resetFinished(job: StoredJob, state: 'failed' | 'completed'): void {
    job.finishedOn = undefined;
    job.processedOn = undefined;
    if (state === 'failed') job.failedReason = undefined;
    else job.returnvalue = undefined;
  }

  /** moveJobsToWait.lua (Queue#retryJobs): returns 1 while more may remain, else 0. */
  retryFinished(state: 'failed' | 'completed', count: number, timestamp: number): number {
    const set = state === 'failed' ? this.failed : this.completed;
    const ids = set.upTo(timestamp).slice(0, count);
    for (const id of ids) {
      set.delete(id);
      const job = this.jobs.get(id)!;
      this.resetFinished(job, state);
      this.wait.unshift(id);
      this.addEvent('event', 'waiting', 'jobId', id, 'prev', state);
    }
    this.notify();
    return count - ids.length <= 0 ? 1 : 0;
  }

  promoteAll(count: number): number {
    const ids = this.delayed.members().slice(0, count);
    for (const id of ids) this.undelay(id);
    this.armDelayTimer();
    this.notify();
    return count - ids.length <= 0 ? 1 : 0;
  }

  /** cleanJobsInSet.lua: removes jobs of `state` older than `timestamp` (finishedOn for finished ones). */
  clean(state: string, timestamp: number, limit: number): string[] {
    const ids = this.idsInState(state === 'waiting' ? 'wait' : state);
    const removed: string[] = [];
    for (const id of state === 'wait' || state === 'active' || state === 'paused' ? [...ids].reverse() : ids) {
      if (limit > 0 && removed.length >= limit) break;
      const job = this.jobs.get(id);
      if (!job || this.lockHeld(job)) continue;
      if (state !== 'completed' && state !== 'failed' && this.schedulers.isCurrentIteration(job)) continue;
      const at = job.finishedOn ?? job.timestamp;
      if (at > timestamp) continue;
      this.removeJob(id);
      removed.push(id);
    }
    this.addEvent('event', 'cleaned', 'count', removed.length);
    return removed;
  }

  /** Job ids of one state, in the order the Redis structure holds them (lists: LRANGE 0 -1; sets: ascending). */
  idsInState(state: string): string[] {
    switch (state) {
      case 'wait':
        return [...this.wait];
      case 'active':
        return [...this.active];
      case 'prioritized':
        return this.prioritized.members();
      case 'delayed':
        return this.delayed.members();
      case 'completed':
        return this.completed.members();
      case 'failed':
        return this.failed.members();
      case 'repeat':
        return this.schedulers.ids();
      case 'waiting-children':
        return this.flows.waitingChildren.members();
      default:
        return []; // paused (legacy list): always empty here
    }
  }

  count(state: string, delayedBefore?: number): number {
    if (state === 'delayed' && delayedBefore !== undefined) {
      return this.delayed.upTo(delayedBefore * 0x1000 - 1).length;
    }
    return this.idsInState(state).length;
  }

  /** getRanges.lua for one state. */
  range(state: string, start: number, end: number, asc: boolean): string[] {
    if (state === 'wait' || state === 'active' || state === 'paused') {
      const list = this.idsInState(state);
      if (!asc) return rangeByIndex(list, start, end);
      const s = start === -1 ? 0 : -(start + 1);
      const e = end === -1 ? 0 : -(end + 1);
      return rangeByIndex(list, e, s);
    }
    const members = this.idsInState(state);
    return rangeByIndex(asc ? members : members.reverse(), start, end);
  }

  stateOf(jobId: string): string {
    if (this.completed.has(jobId)) return 'completed';
    if (this.failed.has(jobId)) return 'failed';
    if (this.delayed.has(jobId)) return 'delayed';
    if (this.active.includes(jobId)) return 'active';
    if (this.wait.includes(jobId)) return 'waiting';
    if (this.prioritized.has(jobId)) return 'prioritized';
    if (this.flows.waitingChildren.has(jobId)) return 'waiting-children';
    return 'unknown';
  }

  /**
   * Drops everything (obliterate) but the parents waiting for children, which obliterate.lua does not touch.
   * Timers stop; waiters stay registered (their workers still exist).
   */
  clear(): void {
    this.stopTimers();
    const waitingParents = this.flows.waitingChildren.members().map((id) => this.jobs.get(id)!);
    for (const job of this.jobs.values()) if (!this.flows.waitingChildren.has(job.id)) releaseDeduplicationOnRemoval(this, job);
    this.jobs.clear();
    for (const parent of waitingParents) this.jobs.set(parent.id, parent);
    this.wait.length = 0;
    this.active.length = 0;
    this.prioritized.clear();
    this.delayed.clear();
    this.completed.clear();
    this.failed.clear();
    this.stalled.clear();
    this.meta.clear();
    this.schedulers.clear();
    this.metrics.clear();
    this.events.length = 0;
    this.idCounter = 0;
    this.stalledCheckUntil = 0;
  }
}
