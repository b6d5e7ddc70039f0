import { EventEmitter } from 'node:events';
import {
  ConnectionClosedError,
  QueueKeys,
  type DependenciesOpts,
  type IQueueBackend,
  type JobJson,
  type JobProgress,
  type JobState,
  type JobSchedulerJobOptions,
  type JobType,
  type JobsOptions,
  type KeepJobs,
  type KeyPrefixOptions,
  type KeysMap,
  type MetricsOptions,
  type MinimalJob,
  type MoveToDelayedOpts,
  type MoveToWaitingChildrenOpts,
  type ParentKeyOpts,
  type QueueBaseOptions,
  type RepeatableOptions,
  type RepeatStrategy,
  type RetryJobOpts,
  type RetryOptions,
  type StreamReadRaw,
} from 'bullmq';
import type { ClockTimer } from '../../src/ports/clock.js';
import { setBackgroundInterval, setBackgroundTimeout } from '../clock/test-clock.js';
import { removeDeduplicationKey } from './deduplication.js';
import { backendError } from './errors.js';
import { QueueFlows, type DependenciesResult, type FlowInsert, type RemovedJob } from './flows.js';
import type { InMemoryQueueStore, StoreRemoval } from './in-memory-store.js';
import type { FetchOptions, NextJobData, QueueState } from './queue-state.js';
import { getRateLimitTtl, withoutRealTimeLimitDelay, type LimiterOptions } from './rate-limit.js';
import { pastEndDate, patternNextMillis, ranImmediately, type SchedulerHost } from './schedulers.js';
import { CleanGraces } from './clean-grace.js';
import { answerLikeRoundTrips } from './round-trip.js';
import { rangeByIndex } from './sorted-set.js';
import { startClockStalledCheck } from './stalled-check.js';

/** Redis's default `stream-node-max-entries`: approximate stream trimming removes whole nodes of this size. */
const STREAM_NODE_ENTRIES = 100;

/** Worker-side options the backend reads (the Worker passes its own options object to the factory). */
type BackendOptions = QueueBaseOptions<unknown> & KeyPrefixOptions & {
  name?: string;
  lockDuration?: number;
  lockRenewTime?: number;
  skipLockRenewal?: boolean;
  skipStalledCheck?: boolean;
  stalledInterval?: number;
  maxStalledCount?: number;
  limiter?: LimiterOptions;
  maximumRateLimitDelay?: number;
  removeOnComplete?: boolean | number | KeepJobs;
  removeOnFail?: boolean | number | KeepJobs;
  metrics?: MetricsOptions;
  settings?: { repeatStrategy?: RepeatStrategy };
};

export interface InMemoryBackendRole {
  /** Built for a Worker: renews its locks and runs stalled checks on the store's clock. */
  worker: boolean;
  /** The BullMQ object that built this backend (its Worker's stalled check runs on the clock). */
  owner?: unknown;
}

/**
 * BullMQ 6 `IQueueBackend` over an {@link InMemoryQueueStore}. Every operation runs synchronously against the
 * store (atomic like a Lua script) and returns the same shapes and errors as the Redis backend.
 *
 * Time: everything the backend decides (delays, backoff, lock expiry, stalled checks, block timeouts,
 * finishedOn/processedOn) reads the store's clock. A Worker backend also renews the locks it handed out every
 * `lockRenewTime` and runs the stalled check every `stalledInterval` on that clock (both as unref'd background
 * timers). BullMQ itself still uses real timers for: its own LockManager renewal and stalled-check loop (these
 * call into this backend and are harmless), `Worker#delay` (100 ms after an interrupted wait, i.e. on
 * `worker.pause()`), the 'ready' emit (`setTimeout 0`) and `Date.now()` for `Job#timestamp` of new Job instances.
 */
export class InMemoryQueueBackend extends EventEmitter implements IQueueBackend {
  closing: Promise<void> | undefined;
  readonly minimumBlockTimeout = 0.001;
  readonly maximumBlockTimeout = 10;
  private readonly queueKeys: QueueKeys;
  private queueState: QueueState | undefined;
  private keysMap: KeysMap | undefined;
  /** Locks this backend handed out and has not released (renewed on the clock for workers). */
  private readonly owned = new Map<string, string>();
  private readonly timers: ClockTimer[] = [];
  private blockingDisconnected = false;
  /**
   * The Worker's own rate-limit wait (`Worker#limitUntil`), on the store's clock: on Redis the Worker sleeps the
   * delay it is handed in real time; here it is handed 0 and this backend holds it until this clock time.
   */
  private heldUntil = 0;
  private readonly blocked = new Set<(err: Error) => void>();
  /** This backend's named connections in the store's client list (a Worker's blocking one; a QueueEvents' after setName). */
  private readonly connections: number[] = [];
  private readonly cleanGraces: CleanGraces;

  constructor(
    readonly store: InMemoryQueueStore,
    readonly name: string,
    private readonly opts: BackendOptions,
    private readonly role: InMemoryBackendRole = { worker: false },
    private readonly ownsConnection = true,
  ) {
    super();
    this.queueKeys = new QueueKeys(opts.prefix ?? 'bull');
    // Only the owner's own backend wraps its clean(); forQueue() backends (flows) share the owner and must not.
    this.cleanGraces = new CleanGraces(ownsConnection ? role.owner : undefined);
    if (role.worker && ownsConnection) {
      // BullMQ names a Worker's blocking connection `<prefix>:<base64 name>[:w:<worker name>]` (createBlockingConnection).
      this.connections.push(store.clients.connect(this.clientName(opts.name ? `:w:${opts.name}` : '')));
      this.startWorkerTimers();
    }
  }

  // ---------------------------------------------------------------- identity & lifecycle

  get qualifiedName(): string {
    return this.queueKeys.getQueueQualifiedName(this.name);
  }

  /** The queue's state, created on first use (a FlowProducer's queue-less backend never creates one). */
  private get state(): QueueState {
    this.queueState ??= this.store.queue(this.qualifiedName);
    return this.queueState;
  }

  /** Built once, like the Redis backend's keys (one object per backend). */
  get keys(): KeysMap {
    this.keysMap ??= this.queueKeys.getKeys(this.name);
    return this.keysMap;
  }

  toKey(type: string): string {
    return this.queueKeys.toKey(this.name, type);
  }

  parseNodeKey(key: string): { prefix: string; queueName: string; id: string } {
    const last = key.lastIndexOf(':');
    const prev = key.lastIndexOf(':', last - 1);
    return { prefix: key.slice(0, Math.max(prev, 0)), queueName: key.slice(prev + 1, last), id: key.slice(last + 1) };
  }

  clientName(suffix = ''): string {
    return `${this.opts.prefix ?? 'bull'}:${Buffer.from(this.name).toString('base64')}${suffix}`;
  }

  forQueue(queueName: string, prefix?: string): IQueueBackend {
    return new InMemoryQueueBackend(this.store, queueName, { ...this.opts, prefix: prefix ?? this.opts.prefix }, this.role, false);
  }

  async waitUntilReady(): Promise<void> {
    if (this.closing) throw new ConnectionClosedError();
  }

  close(force = false): Promise<void> {
    void force;
    if (!this.ownsConnection) return Promise.resolve();
    if (!this.closing) {
      for (const t of this.timers.splice(0)) this.store.clock.clear(t);
      for (const id of this.connections.splice(0)) this.store.clients.disconnect(id);
      this.interruptBlocking();
      this.closing = Promise.resolve().then(() => {
        this.emit('close');
      });
    }
    return this.closing;
  }

  async disconnect(): Promise<void> {
    this.interruptBlocking();
  }

  /** CLIENT SETNAME: names this backend's connection in the store's client list (QueueEvents: `…:qe`). */
  async setName(name: string): Promise<void> {
    if (this.closing || !this.ownsConnection) return;
    this.connections.push(this.store.clients.connect(name));
  }

  async disconnectBlocking(_wait?: boolean): Promise<void> {
    this.blockingDisconnected = true;
    this.interruptBlocking();
  }

  async reconnectBlocking(): Promise<void> {
    if (!this.closing) this.blockingDisconnected = false;
  }

  private interruptBlocking(): void {
    for (const fail of [...this.blocked]) fail(new ConnectionClosedError());
  }

  private startWorkerTimers(): void {
    const clock = this.store.clock;
    const lockDuration = this.opts.lockDuration ?? 30_000;
    if (!this.opts.skipLockRenewal) {
      const every = this.opts.lockRenewTime || lockDuration / 2;
      this.timers.push(
        setBackgroundInterval(clock, () => this.renewOwnedLocks(lockDuration), every, `lock renewal ${this.name}`),
      );
    }
    if (!this.opts.skipStalledCheck) {
      const timer = startClockStalledCheck(clock, this.role.owner, this.opts.stalledInterval ?? 30_000, `stalled check ${this.name}`);
      if (timer) this.timers.push(timer);
    }
  }

  private renewOwnedLocks(duration: number): void {
    for (const [jobId, token] of this.owned) {
      if (!this.state.extendLock(jobId, token, duration)) this.owned.delete(jobId);
    }
  }

  private fetchOptions(token: string, name?: string): FetchOptions {
    return { token, lockDuration: this.opts.lockDuration ?? 30_000, name: name ?? this.opts.name, limiter: this.opts.limiter };
  }

  private track(result: NextJobData, token: string): NextJobData {
    if (result[0] && token !== '0') this.owned.set(String(result[1]), token);
    return result;
  }

  private fetchNextOptions(token: string, fetchNext: boolean): FetchOptions | undefined {
    return fetchNext && !this.closing ? this.fetchOptions(token) : undefined;
  }

  // ---------------------------------------------------------------- adding jobs

  async addJob(job: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts): Promise<string> {
    const id = this.addAndReport(job, jobId, parentKeyOpts);
    if (typeof id === 'number') throw backendError(id, jobId, 'addJob', undefined, parentKeyOpts?.parentKey);
    return id;
  }

  /** As the Redis pipeline: an entry refused by its script (missing parent) gets the error code as its "id". */
  async addJobs(entries: { job: JobJson; jobId: string; parentKeyOpts?: ParentKeyOpts }[]): Promise<string[]> {
    return entries.map((e) => this.addAndReport(e.job, e.jobId, e.parentKeyOpts)) as string[];
  }

  /**
   * Adds one job (with its parent links, flows.ts); a new one (not a duplicate id, not deduplicated) is reported
   * as the store's `added` event, and a delayed job it replaced (deduplication `replace`) as `removed`. Returns
   * the id, or the script's error code.
   */
  private addAndReport(json: JobJson, jobId: string, parentKeyOpts?: ParentKeyOpts, flow?: FlowInsert): string | number {
    const existed = jobId ? this.state.jobs.has(String(jobId)) : false;
    const id = this.state.flows.add(json, jobId, parentKeyOpts, flow);
    if (typeof id === 'number') return id;
    const news = this.state.deduplication.takeNews();
    this.reportRemoved(news.replaced, 'deduplicate');
    if (!existed && !news.deduplicated) this.reportAdded(id);
    return id;
  }

  private reportAdded(id: string): void {
    const job = this.state.getJob(id);
    if (job && this.store.listenerCount('added') > 0) {
      this.store.emit('added', this.qualifiedName, {
        id,
        name: job.name,
        data: job.data,
        delay: job.delay,
        priority: job.priority,
        lifo: job.opts.lifo === true,
        at: this.state.now(),
      });
    }
  }

  /** Reports jobs deleted through the queue API as the store's `removed` event. */
  private reportRemoved(jobIds: readonly string[], how: StoreRemoval): void {
    if (jobIds.length > 0) this.store.emit('removed', this.qualifiedName, jobIds, how);
  }

  /**
   * The Redis backend's MULTI: every node is added in order (roots first), each answering `[null, id]` or
   * `[null, errorCode]`; then each parent left with no pending children leaves waiting-children.
   */
  async addFlow(
    entries: { jobData: JobJson; jobId: string; parentKeyOpts: ParentKeyOpts; prefix: string; queueName: string }[],
  ): Promise<[Error | null, string | number][]> {
    const flow: FlowInsert = { parents: new Map(), attachmentFailed: new Set() };
    const results = entries.map((e): [Error | null, string | number] => {
      const backend = this.forQueue(e.queueName, e.prefix) as InMemoryQueueBackend;
      const id = backend.addAndReport(e.jobData, e.jobId, { ...e.parentKeyOpts, deferParentRelease: true }, flow);
      if (e.jobData.parent && e.parentKeyOpts?.parentKey) flow.parents.set(e.parentKeyOpts.parentKey, e.jobData.parent);
      return [null, id];
    });
    QueueFlows.releaseFlowParents(flow, (name) => (this.store.has(name) ? this.store.queue(name) : undefined), this.store.clock.now());
    return results;
  }

  // ---------------------------------------------------------------- job schedulers (schedulers.ts)

  /** A scheduler reports the iterations it adds and the pending ones it deletes as the store's events. */
  private get schedulerHost(): SchedulerHost {
    return {
      added: (jobId) => this.reportAdded(jobId),
      removed: (jobIds) => this.reportRemoved(jobIds, 'scheduler'),
    };
  }

  /** A `pattern` scheduler's first run is recomputed on the store's clock (BullMQ computed it from Date.now()). */
  async addJobScheduler(
    id: string,
    nextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    opts: RepeatableOptions,
    delayedJobOpts: JobsOptions,
  ): Promise<[string, number]> {
    let next = nextMillis;
    if (opts.pattern) {
      const now = this.store.clock.now();
      const strategy = this.opts.settings?.repeatStrategy;
      const runNow = await ranImmediately(strategy, nextMillis, delayedJobOpts, opts.name);
      next = (await patternNextMillis(strategy, now, delayedJobOpts, opts.name, runNow)) ?? now;
    }
    return this.state.schedulers.add(this.schedulerHost, id, next, templateData, templateOpts, opts, delayedJobOpts);
  }

  /** The `endDate` check and a `pattern` scheduler's next run are redone on the store's clock (see patternNextMillis). */
  async updateJobSchedulerNextMillis(
    id: string,
    nextMillis: number,
    _templateData: string,
    delayedJobOpts: JobSchedulerJobOptions,
    producerId?: string,
  ): Promise<string | null> {
    const now = this.store.clock.now();
    if (pastEndDate(delayedJobOpts, now)) return null;
    let next = nextMillis;
    if (delayedJobOpts.repeat?.pattern) {
      const base = Math.max(now, this.state.schedulers.nextMillis(id) ?? 0);
      const name = this.state.schedulers.data(id).name ?? '';
      const computed = await patternNextMillis(this.opts.settings?.repeatStrategy, base, delayedJobOpts, name, false);
      if (computed === undefined) return null;
      next = computed;
    }
    return this.state.schedulers.update(this.schedulerHost, id, next, delayedJobOpts, producerId);
  }

  async removeJobScheduler(id: string): Promise<number> {
    return this.state.schedulers.remove(this.schedulerHost, id);
  }

  async getJobScheduler(id: string): Promise<[any, string | null]> {
    return this.state.schedulers.get(id);
  }

  async getJobSchedulerData(id: string): Promise<Record<string, string>> {
    return this.state.schedulers.data(id);
  }

  async isJobScheduler(id: string): Promise<boolean> {
    return this.state.schedulers.has(id);
  }

  async getJobSchedulersRange(start: number, end: number, asc: boolean): Promise<string[]> {
    return this.state.schedulers.range(start, end, asc);
  }

  async getJobSchedulersCount(): Promise<number> {
    return this.state.schedulers.size;
  }

  // ---------------------------------------------------------------- worker transitions

  /**
   * While rate limited, answers "no job" with no real-time delay, and holds this worker for the window (no fetch
   * hands it a job, `waitForJob` blocks) until it ends on the clock, as the Worker's own wait would on Redis.
   */
  async moveToActive(token: string, name?: string): Promise<any[]> {
    if (this.held()) return [null, 0, 0, 0];
    return this.track(this.holdForLimit(this.state.fetchNext(this.fetchOptions(token, name))), token);
  }

  private held(): boolean {
    return this.heldUntil > this.store.clock.now();
  }

  /** The Worker's updateDelays / waitForRateLimit: a limit delay holds it, at most `maximumRateLimitDelay`. */
  private holdForLimit<T extends unknown[]>(result: T): T {
    const delay = typeof result[2] === 'number' ? result[2] : 0;
    if (delay > 0) this.holdFor(delay);
    return withoutRealTimeLimitDelay(result);
  }

  private holdFor(delay: number): void {
    if (delay > 0) this.heldUntil = this.store.clock.now() + Math.min(delay, this.opts.maximumRateLimitDelay ?? 30_000);
  }

  async moveToCompleted<T = any, R = any, N extends string = string>(
    job: MinimalJob<T, R, N>,
    returnValue: R,
    removeOnComplete: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
  ): Promise<{ result: void | any[]; finishedOn: number }> {
    const keep = keepJobs(removeOnComplete, this.opts.removeOnComplete);
    return this.finish('completed', String(job.id), JSON.stringify(returnValue) ?? 'null', keep, token, fetchNext);
  }

  async moveToFailed<T = any, R = any, N extends string = string>(
    job: MinimalJob<T, R, N>,
    failedReason: string,
    removeOnFail: boolean | number | KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, any>,
  ): Promise<{ result: void | any[]; finishedOn: number }> {
    const keep = keepJobs(removeOnFail, this.opts.removeOnFail);
    return this.finish('failed', String(job.id), failedReason ?? '', keep, token, fetchNext, fieldsToUpdate);
  }

  private finish(
    target: 'completed' | 'failed',
    jobId: string,
    value: string,
    keep: KeepJobs,
    token: string,
    fetchNext: boolean,
    fieldsToUpdate?: Record<string, any>,
  ): { result: NextJobData; finishedOn: number } {
    this.owned.delete(jobId);
    const done = this.state.finish(target, jobId, value, keep, token, this.fetchNextOptions(token, fetchNext), fieldsToUpdate);
    // collectMetrics runs inside moveToFinished on Redis; nothing can interleave here either (all synchronous).
    const maxDataPoints = this.opts.metrics?.maxDataPoints;
    if (maxDataPoints) this.state.metrics.collect(target, maxDataPoints, done.finishedOn);
    for (const id of this.state.deduplication.takeNews().requeued) this.reportAdded(id);
    const result = this.holdForLimit(done.result);
    this.track(result, token);
    return { result, finishedOn: done.finishedOn };
  }

  async moveToDelayed(jobId: string, _timestamp: number, delay: number, token = '0', opts: MoveToDelayedOpts = {}): Promise<void | any[]> {
    this.owned.delete(jobId);
    const result = this.state.moveToDelayed(jobId, Math.max(0, delay), token, opts, this.fetchNextOptions(token, !!opts.fetchNext));
    return this.track(this.holdForLimit(result), token);
  }

  async moveToWaitingChildren(jobId: string, token: string, opts: MoveToWaitingChildrenOpts = {}): Promise<boolean> {
    const childKey = opts.child ? `${opts.child.queue}:${opts.child.id}` : undefined;
    const moved = this.state.flows.moveToWaitingChildren(jobId, token, childKey);
    if (moved) this.owned.delete(jobId);
    return moved;
  }

  /**
   * Redis returns the limiter's milliseconds left, and the Worker sleeps them in real time after a
   * RateLimitError. Here it returns 0 and holds this worker for them on the store's clock.
   */
  async moveJobFromActiveToWait(jobId: string, token = '0'): Promise<number> {
    this.owned.delete(jobId);
    this.holdFor(this.state.activeToWait(jobId, token));
    return 0;
  }

  async retryJob(jobId: string, lifo: boolean, token = '0', opts: RetryJobOpts = {}): Promise<void> {
    this.owned.delete(jobId);
    this.state.retryActive(jobId, lifo, token, opts.fieldsToUpdate);
  }

  async retryFinishedJob<T = any, R = any, N extends string = string>(
    job: MinimalJob<T, R, N>,
    state: 'failed' | 'completed',
    opts: RetryOptions = {},
  ): Promise<void> {
    this.state.reprocess(String(job.id), state, !!opts.resetAttemptsMade, !!opts.resetAttemptsStarted);
  }

  async promote(jobId: string): Promise<void> {
    this.state.promote(jobId);
  }

  async moveStalledJobsToWait(): Promise<string[]> {
    return this.state.moveStalledJobsToWait(this.opts.maxStalledCount ?? 1, this.opts.stalledInterval ?? 30_000);
  }

  async retryFinishedJobs(state: 'failed' | 'completed' = 'failed', count = 1000, timestamp = this.store.clock.now()): Promise<number> {
    return this.state.retryFinished(state, count, timestamp);
  }

  async promoteJobs(count = 1000): Promise<number> {
    return this.state.promoteAll(count);
  }

  async extendLock(jobId: string, token: string, duration: number): Promise<number> {
    return this.state.extendLock(jobId, token, duration) ? 1 : 0;
  }

  async extendLocks(jobIds: string[], tokens: string[], duration: number): Promise<string[]> {
    return jobIds.filter((id, i) => !this.state.extendLock(id, tokens[i], duration));
  }

  // ---------------------------------------------------------------- queue operations

  async pause(pause: boolean): Promise<void> {
    this.state.pause(pause);
  }

  async drain(delayed: boolean): Promise<void> {
    this.reportRemoved(this.state.drain(delayed), 'drain');
  }

  /**
   * Queue#clean passes `Date.now() - grace` (real time); the grace (as the Queue was called with it) is re-applied
   * to the store's clock, so "older than grace" means clock time.
   */
  async cleanJobsByState(state: string, timestamp: number, limit = 0): Promise<string[]> {
    const grace = this.cleanGraces.graceFor(timestamp);
    const removed = this.state.clean(state, this.store.clock.now() - grace, limit);
    this.reportRemoved(removed, 'clean');
    return removed;
  }

  async obliterate(opts: { force: boolean; count: number }): Promise<number> {
    if (!this.state.isPaused()) throw new Error('Cannot obliterate non-paused queue');
    if (this.state.active.length > 0 && !opts.force) throw new Error('Cannot obliterate queue with active jobs');
    const ids = [...this.state.jobs.keys()];
    // As removeJobs(…, hard): each removed child leaves its parent (a freed parent of this queue goes too).
    for (const id of ids) if (!this.state.flows.waitingChildren.has(id)) this.state.flows.detach(id, true);
    this.state.clear();
    this.reportRemoved(ids.filter((id) => !this.state.jobs.has(id)), 'obliterate');
    return 0;
  }

  /** A store has no orphaned job data: jobs only exist inside a state. */
  async removeOrphanedJobs(): Promise<number> {
    return 0;
  }

  /** removeJob.lua: with `removeChildren`, the job's children (in any queue) go too. */
  async remove(jobId: string, removeChildren: boolean): Promise<number> {
    this.state.schedulers.assertRemovable(jobId);
    const removed: RemovedJob[] = [];
    const result = this.state.flows.remove(jobId, removeChildren, removed);
    this.reportRemovedJobs(removed);
    return result;
  }

  async removeUnprocessedChildren(jobId: string): Promise<void> {
    const removed: RemovedJob[] = [];
    this.state.flows.removeUnprocessedChildren(jobId, removed);
    this.reportRemovedJobs(removed);
  }

  /** Reports removed jobs, queue by queue, as the store's `removed` event (`how`: remove). */
  private reportRemovedJobs(removed: readonly RemovedJob[]): void {
    for (const queue of new Set(removed.map((r) => r.queue))) {
      const ids = removed.filter((r) => r.queue === queue).map((r) => r.id);
      this.store.emit('removed', queue, ids, 'remove');
    }
  }

  async removeChildDependency(jobId: string, parentKey: string): Promise<boolean> {
    return this.state.flows.removeChildDependency(jobId, parentKey);
  }

  /** Job#removeDeduplicationKey: only while this job holds the key. */
  async removeDeduplicationKey(deduplicationId: string, jobId: string): Promise<number> {
    return removeDeduplicationKey(this.state, deduplicationId, jobId);
  }

  /** Queue#removeDeduplicationKey: unconditionally (DEL). */
  async deleteDeduplicationKey(deduplicationId: string): Promise<number> {
    return this.state.deduplication.del(deduplicationId);
  }

  async updateData<T = any, R = any, N extends string = string>(job: MinimalJob<T, R, N>, data: T): Promise<void> {
    const stored = this.state.requireJob(String(job.id), 'updateData');
    stored.data = JSON.stringify(data);
  }

  async updateProgress(jobId: string, progress: JobProgress): Promise<void> {
    const stored = this.state.requireJob(jobId, 'updateProgress');
    stored.progress = structuredClone(progress);
    this.state.addEvent('event', 'progress', 'jobId', jobId, 'data', JSON.stringify(progress));
  }

  async addLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    const stored = this.state.requireJob(jobId, 'addLog');
    stored.logs.push(logRow);
    if (keepLogs) {
      const count = stored.logs.length;
      stored.logs.splice(0, Math.max(0, count - keepLogs));
      return Math.min(keepLogs, count);
    }
    return stored.logs.length;
  }

  async clearLogs(jobId: string, keepLogs?: number): Promise<void> {
    const stored = this.state.getJob(jobId);
    if (!stored) return;
    stored.logs.splice(0, keepLogs ? Math.max(0, stored.logs.length - keepLogs) : stored.logs.length);
  }

  async changeDelay(jobId: string, delay: number): Promise<void> {
    this.state.changeDelay(jobId, delay);
  }

  async changePriority(jobId: string, priority = 0, lifo = false): Promise<void> {
    this.state.changePriority(jobId, priority, lifo);
  }

  // ---------------------------------------------------------------- getters

  async getState(jobId: string): Promise<JobState | 'unknown'> {
    return this.state.stateOf(jobId) as JobState | 'unknown';
  }

  async isFinished(jobId: string, returnValue = false): Promise<number | [number, string]> {
    const job = this.state.getJob(jobId);
    const reply = (code: number, value?: string): number | [number, string] =>
      returnValue ? ([code, value] as [number, string]) : code;
    if (!job) return reply(-1, `Missing key for job ${this.toKey(jobId)}. isFinished`);
    if (this.state.completed.has(jobId)) return reply(1, job.returnvalue);
    if (this.state.failed.has(jobId)) return reply(2, job.failedReason);
    return returnValue ? ([0] as unknown as [number, string]) : 0;
  }

  async isMaxed(): Promise<boolean> {
    return this.state.isMaxed();
  }

  async isJobInState(state: string, jobId: string): Promise<boolean> {
    switch (state) {
      case 'waiting':
        return this.state.wait.includes(jobId);
      case 'wait':
      case 'active':
      case 'paused':
      case 'prioritized':
      case 'completed':
      case 'failed':
      case 'delayed':
      case 'waiting-children':
        return this.state.idsInState(state).includes(jobId);
      default:
        throw new Error(`Unknown job state: ${state}`);
    }
  }

  async getJobData(jobId: string): Promise<JobJson | undefined> {
    const job = this.state.getJob(jobId);
    return job ? this.state.toJobJson(job) : undefined;
  }

  async getDeduplicationJobId(deduplicationId: string): Promise<string | null> {
    return this.state.deduplication.get(deduplicationId);
  }

  async getJobLogs(jobId: string, start: number, end: number, asc: boolean): Promise<{ logs: string[]; count: number }> {
    const logs = this.state.getJob(jobId)?.logs ?? [];
    const page = asc ? rangeByIndex(logs, start, end) : rangeByIndex(logs, -(end + 1), -(start + 1)).reverse();
    return { logs: page, count: logs.length };
  }

  async getRateLimitTtl(maxJobs?: number): Promise<number> {
    return getRateLimitTtl(this.state.limiter, this.state.meta, maxJobs);
  }

  async getCounts(types: JobType[], delayedTimestamp?: number): Promise<number[]> {
    return types.map((t) => this.state.count(normalizeType(t), delayedTimestamp));
  }

  async getCountsPerPriority(priorities: number[]): Promise<number[]> {
    return priorities.map((p) =>
      p === 0
        ? this.state.wait.length
        : this.state.prioritized.members().filter((id) => this.state.getJob(id)?.priority === p).length,
    );
  }

  async getRanges(types: JobType[], start = 0, end = 1, asc = false): Promise<[string][]> {
    return types.map((t) => this.state.range(normalizeType(t), start, end, asc)) as unknown as [string][];
  }

  async getDependencyCounts(jobId: string, types: string[]): Promise<number[]> {
    return this.state.flows.dependencyCounts(jobId, types);
  }

  async getDependencies(jobId: string, opts: DependenciesOpts = {}): Promise<DependenciesResult> {
    return this.state.flows.dependencies(jobId, opts);
  }

  async getProcessedChildrenValues(jobId: string): Promise<Record<string, string>> {
    return this.state.flows.processedValues(jobId);
  }

  async getIgnoredChildrenFailures(jobId: string): Promise<Record<string, string>> {
    return this.state.flows.ignoredFailures(jobId);
  }

  /** getMetrics.lua; collected by the Worker's `metrics` option (metrics.ts). */
  async getMetrics(type: 'completed' | 'failed', start = 0, end = -1): Promise<[string[], string[], number]> {
    return this.state.metrics.get(type, start, end) as [string[], string[], number];
  }

  /** CLIENT LIST of the store (one "node"): the named connections of live Workers and QueueEvents. */
  async getClientList(): Promise<string[]> {
    return [this.store.clients.format()];
  }

  /** Queue#getDependencies: a page of a job's `:processed` or `:dependencies` key. */
  async paginate(key: string, opts: { start: number; end: number; fetchJobs?: boolean }) {
    return this.state.flows.paginate(key, opts);
  }

  // ---------------------------------------------------------------- meta

  async setQueueMeta(values: Record<string, string | number>): Promise<number> {
    let added = 0;
    for (const [k, v] of Object.entries(values)) {
      if (!this.state.meta.has(k)) added++;
      this.state.meta.set(k, String(v));
    }
    this.state.notify();
    return added;
  }

  async getQueueMetaField(field: string): Promise<string | null> {
    return this.state.meta.get(field) ?? null;
  }

  async getQueueMetaFields(fields: string[]): Promise<(string | null)[]> {
    return fields.map((f) => this.state.meta.get(f) ?? null);
  }

  async getQueueMeta(): Promise<Record<string, string>> {
    return Object.fromEntries(this.state.meta);
  }

  async removeQueueMetaFields(fields: string[]): Promise<number> {
    let removed = 0;
    for (const f of fields) if (this.state.meta.delete(f)) removed++;
    this.state.notify();
    return removed;
  }

  async hasQueueMetaField(field: string): Promise<boolean> {
    return this.state.meta.has(field);
  }

  async setRateLimit(expireTimeMs: number): Promise<void> {
    this.state.limiter.setManualLimit(expireTimeMs);
  }

  async removeRateLimitKey(): Promise<number> {
    return this.state.limiter.del();
  }

  async removeDeprecatedPriorityKey(): Promise<number> {
    return 0;
  }

  // ---------------------------------------------------------------- events & blocking

  /**
   * XTRIM MAXLEN ~ (approximate, as the Redis backend sends it): Redis drops only whole stream nodes of
   * `stream-node-max-entries` (100) entries, so a short stream is not trimmed at all.
   */
  async trimEvents(maxLength: number): Promise<number> {
    const extra = Math.max(0, this.state.events.length - maxLength);
    const removable = extra - (extra % STREAM_NODE_ENTRIES);
    this.state.events.splice(0, removable);
    return removable;
  }

  async publishEvent(fields: Record<string, string | number>, _maxEvents: number): Promise<string> {
    return this.state.addEvent(...Object.entries(fields).flat());
  }

  /** XREAD BLOCK on the in-memory stream: resolves on a new event, or after `blockTimeout` ms of clock time. */
  async readEvents(id: string, blockTimeout: number): Promise<StreamReadRaw> {
    const after = id === '$' ? this.state.lastEventSeq() : Number(id.split('-')[1] ?? 0);
    const read = (): StreamReadRaw => {
      const events = this.state.eventsAfter(after);
      return events.length ? [[this.keys.events, events.map((e) => [e.id, e.fields])]] : null;
    };
    const ready = read();
    if (ready || this.closing) return ready;
    return this.block(this.state.eventWaiters, blockTimeout > 0 ? blockTimeout : undefined, 'readEvents', read, null);
  }

  /**
   * The blocking "wait for next job": resolves at once when a job can be taken, else when one becomes available
   * (in-process notify) or after `blockTimeout` seconds of clock time (an unref'd timer, so idle workers never
   * keep `TestClock.runForegroundTimers` busy). `disconnectBlocking()` rejects it with ConnectionClosedError, as a
   * closed Redis connection would.
   */
  async waitForJob(blockTimeout: number): Promise<{ member: string; score: number } | null> {
    if (this.closing || this.blockingDisconnected) throw new ConnectionClosedError();
    const marker = { member: '0', score: 0 };
    const holdLeft = this.heldUntil - this.store.clock.now();
    if (holdLeft > 0 && holdLeft <= blockTimeout * 1000) {
      // Held for a rate-limit window: wake when it ends (or earlier on a notify; the fetch then answers no job).
      return this.block(this.state.waiters, holdLeft, `waitForJob ${this.name} (rate limited)`, () => marker, marker);
    }
    if (holdLeft <= 0 && this.state.hasWork(this.opts.limiter)) return marker;
    return this.block(this.state.waiters, blockTimeout * 1000, `waitForJob ${this.name}`, () => marker, null);
  }

  /**
   * One blocked "connection": resolves with `onWake()` when the state wakes `waiters`, with `onTimeout` after
   * `timeoutMs` of clock time (an unref'd timer; undefined = block until woken), and rejects with ConnectionClosedError
   * when the blocking connection is cut (`disconnectBlocking`, `close`).
   */
  private block<T>(waiters: Set<{ wake(): void }>, timeoutMs: number | undefined, label: string, onWake: () => T, onTimeout: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = { wake: () => finish(() => resolve(onWake())) };
      const timer = timeoutMs !== undefined ? setBackgroundTimeout(this.store.clock, () => finish(() => resolve(onTimeout)), timeoutMs, label) : undefined;
      const fail = (err: Error) => finish(() => reject(err));
      const finish = (settle: () => void) => {
        waiters.delete(waiter);
        this.blocked.delete(fail);
        this.store.clock.clear(timer);
        settle();
      };
      waiters.add(waiter);
      this.blocked.add(fail);
    });
  }
}

// Every async method answers one simulated round trip later (round-trip.ts).
answerLikeRoundTrips(InMemoryQueueBackend, EventEmitter.prototype);

function normalizeType(type: string): string {
  return type === 'waiting' ? 'wait' : type;
}

/** BullMQ's getKeepJobs: the job's own option wins, else the worker's, else keep everything. */
export function keepJobs(shouldRemove: boolean | number | KeepJobs | undefined, workerKeepJobs?: boolean | number | KeepJobs): KeepJobs {
  if (typeof shouldRemove === 'undefined') {
    if (workerKeepJobs === undefined || workerKeepJobs === false) return { count: -1 };
    return keepJobs(workerKeepJobs);
  }
  if (typeof shouldRemove === 'object') return shouldRemove;
  if (typeof shouldRemove === 'number') return { count: shouldRemove };
  return { count: shouldRemove ? 0 : -1 };
}
