import { ErrorCode, parseObjectValues, type DependenciesOpts, type JobJson, type ParentKeyOpts, type ParentKeys } from 'bullmq';
import { releaseDeduplicationOnRemoval } from './deduplication.js';
import { backendError } from './errors.js';
import type { QueueState, StoredJob } from './queue-state.js';
import { SortedSet, rangeByIndex } from './sorted-set.js';

/**
 * Flows (parent/child jobs) of the in-memory backend, mirroring BullMQ's Lua: `addParentJob.lua` and the parent
 * handling of the add scripts (`handleDuplicatedJob`, `updateExistingJobsParent`), `moveToFinished.lua`'s parent
 * updates (`updateParentDepsIfNeeded`, `moveChildFromDependenciesIfNeeded`), `moveToWaitingChildren.lua`,
 * `removeJob.lua` (`removeJobWithChildren`, `removeParentDependencyKey`), `removeChildDependency.lua`,
 * `removeUnprocessedChildren.lua`, `releaseParentIfNoPendingDependencies.lua`, `getDependencyCounts.lua` and
 * `paginate.lua`. Jobs are named by their Redis key, `<prefix>:<queue>:<id>`, so a parent may live in another
 * queue of the same store.
 */

/** A parent's links to its children: the `<jobKey>:dependencies`, `:processed`, `:failed` and `:unsuccessful` keys. */
export class ChildLinks {
  /** Children not finished yet (child keys). */
  readonly pending = new Set<string>();
  /** Completed children: child key → JSON return value. */
  readonly processed = new Map<string, string>();
  /** Failed children that were ignored (`ignoreDependencyOnFailure`) or let the parent continue (`continueParentOnFailure`): key → reason. */
  readonly ignored = new Map<string, string>();
  /** Failed children with `failParentOnFailure`, scored by the time they failed. */
  readonly unsuccessful = new SortedSet();
}

/** Finds a queue of the store by its qualified name (`<prefix>:<name>`) without creating it. */
export type QueueLookup = (qualifiedName: string) => QueueState | undefined;

/** Parents touched by one `addFlow` call (released once the whole tree is in, as the Redis MULTI does). */
export interface FlowInsert {
  readonly parents: Map<string, ParentKeys>;
  /** Parents a duplicated child could not be attached to (`flowAttachmentFailed`): never released by this insert. */
  readonly attachmentFailed: Set<string>;
}

/** What `getDependencies` returns (the Redis backend's shape). */
export interface DependenciesResult {
  processed?: Record<string, unknown>;
  nextProcessedCursor?: number;
  unprocessed?: string[];
  nextUnprocessedCursor?: number;
  ignored?: Record<string, string>;
  nextIgnoredCursor?: number;
  failed?: string[];
  nextFailedCursor?: number;
}

interface RemoveOptions {
  removeChildren: boolean;
  ignoreProcessed: boolean;
  ignoreLocked: boolean;
}

/** A job removed by `remove` / `removeUnprocessedChildren`, possibly in another queue. */
export interface RemovedJob {
  queue: string;
  id: string;
}

/**
 * Redis keeps small hashes (≤ 128 fields and values of ≤ 64 bytes, `hash-max-listpack-*`) as listpacks, which HSCAN
 * returns whole, in insertion order, whatever the COUNT. Sets of strings are hash tables up to Redis 7.0 (7.2 added
 * listpack sets): SSCAN pages them.
 */
const LISTPACK_MAX_ENTRIES = 128;
const LISTPACK_MAX_VALUE_BYTES = 64;

export function splitJobKey(key: string): { queueKey: string; id: string } {
  const i = key.lastIndexOf(':');
  return { queueKey: key.slice(0, i), id: key.slice(i + 1) };
}

/** The flow side of one queue: its `waiting-children` set, and every operation where a job of it is a parent or a child. */
export class QueueFlows {
  /** Parents waiting for their children, scored by the time they started to wait. */
  readonly waitingChildren = new SortedSet();

  constructor(
    private readonly state: QueueState,
    private readonly lookup: QueueLookup,
  ) {}

  jobKey(jobId: string): string {
    return `${this.state.qualifiedName}:${jobId}`;
  }

  /** The queue and job a key names; the job is undefined when the key does not exist. */
  private locate(key: string): { flows: QueueFlows; state: QueueState; id: string; job: StoredJob | undefined } | undefined {
    const { queueKey, id } = splitJobKey(key);
    const state = this.lookup(queueKey);
    return state ? { flows: state.flows, state, id, job: state.getJob(id) } : undefined;
  }

  private exists(key: string): boolean {
    return this.locate(key)?.job !== undefined;
  }

  private links(job: StoredJob): ChildLinks {
    job.children ??= new ChildLinks();
    return job.children;
  }

  // ---------------------------------------------------------------- adding jobs

  /**
   * addStandardJob / addDelayedJob / addPrioritizedJob / addParentJob with their parent handling. Returns the job id,
   * or an error code (`ParentJobNotExist`, `ParentJobCannotBeReplaced`) as the scripts do.
   */
  add(json: JobJson, jobId: string | undefined, opts: ParentKeyOpts = {}, flow?: FlowInsert): string | number {
    const parentKey = json.parentKey || undefined;
    if (parentKey !== undefined && !this.exists(parentKey)) return ErrorCode.ParentJobNotExist;
    const parent = parentKey !== undefined ? structuredClone(json.parent) : undefined;
    const existing = jobId ? this.state.getJob(String(jobId)) : undefined;
    if (existing) return this.duplicated(existing, parentKey, parent, opts.parentDependenciesKey || undefined, flow);
    const id = this.state.addJob(json, jobId, !!opts.addToWaitingChildren);
    const job = this.state.getJob(id)!;
    if (parentKey !== undefined) {
      job.parentKey = parentKey;
      job.parent = parent;
      if (opts.parentDependenciesKey) this.links(this.locate(parentKey)!.job!).pending.add(this.jobKey(id));
    }
    return id;
  }

  /** The scripts' "place a new parent": waiting-children, and the 'waiting-children' event. */
  addWaitingChildren(job: StoredJob): void {
    this.waitingChildren.add(job.id, this.state.now());
    this.state.addEvent('event', 'waiting-children', 'jobId', job.id);
  }

  /** handleDuplicatedJob.lua: the existing job is kept; its parent may be set or confirmed, never replaced by another live one. */
  private duplicated(job: StoredJob, parentKey: string | undefined, parent: ParentKeys | undefined, depsKey: string | undefined, flow?: FlowInsert): string | number {
    const existedParentKey = job.parentKey;
    if (!existedParentKey || existedParentKey === parentKey || !this.exists(existedParentKey)) {
      if (parentKey !== undefined) this.updateExistingJobsParent(job, parentKey, parent, depsKey, !!flow);
    } else if (parentKey !== undefined) {
      flow?.attachmentFailed.add(parentKey);
      return ErrorCode.ParentJobCannotBeReplaced;
    }
    this.state.addEvent('event', 'duplicated', 'jobId', job.id);
    return job.id;
  }

  /** updateExistingJobsParent.lua: a completed duplicate counts as processed for its (new) parent. */
  private updateExistingJobsParent(job: StoredJob, parentKey: string, parent: ParentKeys | undefined, depsKey: string | undefined, deferRelease: boolean): void {
    const key = this.jobKey(job.id);
    const target = this.locate(parentKey)!;
    if (this.state.completed.has(job.id)) {
      const value = job.returnvalue ?? 'null';
      if (deferRelease) this.links(target.job!).processed.set(key, value);
      else target.flows.updateParentDeps(target.id, key, value, this.state.now());
    } else if (depsKey) {
      this.links(target.job!).pending.add(key);
    }
    job.parentKey = parentKey;
    job.parent = parent;
  }

  /** releaseParentIfNoPendingDependencies.lua, run for each parent once a whole flow is in. */
  static releaseFlowParents(flow: FlowInsert, lookup: QueueLookup, now: number): void {
    for (const [parentKey, parent] of flow.parents) {
      if (flow.attachmentFailed.has(parentKey)) continue;
      const state = lookup(parent.queueKey);
      if (state && parent.id !== undefined) state.flows.releaseIfNoPendingDependencies(parent.id, now);
    }
  }

  // ---------------------------------------------------------------- parent side (this queue holds the parent)

  /** moveParentToWait.lua: to delayed when the parent has a delay, else to the head of wait (or prioritized). */
  private moveParentToWait(parent: StoredJob, timestamp: number): void {
    if (parent.delay > 0) {
      this.state.addDelayed(parent, timestamp + parent.delay);
    } else {
      this.state.enqueue(parent, 'head');
      this.state.addEvent('event', 'waiting', 'jobId', parent.id, 'prev', 'waiting-children');
    }
    this.state.notify();
  }

  /** moveParentToWaitIfNeeded.lua. */
  private moveParentToWaitIfNeeded(parentId: string, timestamp: number): void {
    const parent = this.state.getJob(parentId);
    if (parent && this.waitingChildren.delete(parentId)) this.moveParentToWait(parent, timestamp);
  }

  /** moveParentToWaitIfNoPendingDependencies.lua. */
  releaseIfNoPendingDependencies(parentId: string, timestamp: number): void {
    if ((this.state.getJob(parentId)?.children?.pending.size ?? 0) === 0) this.moveParentToWaitIfNeeded(parentId, timestamp);
  }

  /** updateParentDepsIfNeeded.lua: record a child's result, release the parent when nothing is pending. */
  private updateParentDeps(parentId: string, childKey: string, value: string, timestamp: number): void {
    const parent = this.state.getJob(parentId);
    if (parent) this.links(parent).processed.set(childKey, value);
    this.releaseIfNoPendingDependencies(parentId, timestamp);
  }

  /** `_moveParentToWait` of removeParentDependencyKey.lua: always to the head of wait (priority and delay ignored). */
  private pushParentToWait(parentId: string, emitEvent: boolean): void {
    this.state.wait.push(parentId);
    if (emitEvent) this.state.addEvent('event', 'waiting', 'jobId', parentId, 'prev', 'waiting-children');
    this.state.notify();
  }

  /** handleChildFailureAndMoveParentToWait (failParentOnFailure): the parent is moved on, to fail with a deferred failure. */
  private failParent(parentId: string, childKey: string, timestamp: number): void {
    const parent = this.state.getJob(parentId);
    if (!parent) return;
    const deferred = `child ${childKey} failed`;
    let moved = this.waitingChildren.delete(parentId);
    if (!moved && this.state.delayed.delete(parentId)) {
      this.state.armDelayTimer();
      parent.delay = 0;
      moved = true;
    }
    if (moved) {
      parent.deferredFailure = deferred;
      this.moveParentToWait(parent, timestamp);
    } else if (!this.state.failed.has(parentId)) {
      parent.deferredFailure = deferred;
    }
  }

  // ---------------------------------------------------------------- child side (this queue holds the child)

  /** moveToFinished.lua, before the lock is released: a parent completes only with no pending and no failed children. */
  assertCanComplete(jobId: string): void {
    const links = this.state.getJob(jobId)?.children;
    if (!links) return;
    if (links.pending.size > 0) throw backendError(ErrorCode.JobPendingChildren, jobId, 'moveToFinished', 'active');
    if (links.unsuccessful.size > 0) throw backendError(ErrorCode.JobHasFailedChildren, jobId, 'moveToFinished', 'active');
  }

  /** moveToFinished.lua's parent handling, run once the job has left active (before it is stored as finished). */
  onFinished(job: StoredJob, target: 'completed' | 'failed', value: string, timestamp: number): void {
    if (!job.parentKey) return;
    const childKey = this.jobKey(job.id);
    if (target === 'completed') {
      const parent = this.locate(job.parentKey);
      if (parent?.job?.children?.pending.delete(childKey)) parent.flows.updateParentDeps(parent.id, childKey, value, timestamp);
    } else if (job.parent) {
      this.moveChildFromDependencies(job.parent, childKey, value, timestamp);
    }
  }

  /** moveChildFromDependenciesIfNeeded.lua: what a failed child does to its parent, by the child's parent options. */
  private moveChildFromDependencies(parent: ParentKeys, childKey: string, reason: string, timestamp: number): void {
    if (parent.id === undefined) return;
    const target = this.locate(`${parent.queueKey}:${parent.id}`);
    const links = target?.job?.children;
    if (!target || !links || !(parent.fpof || parent.cpof || parent.idof || parent.rdof)) return;
    if (!links.pending.delete(childKey)) return;
    if (parent.fpof) {
      links.unsuccessful.add(childKey, timestamp);
      target.flows.failParent(target.id, childKey, timestamp);
    } else if (parent.cpof) {
      links.ignored.set(childKey, reason);
      target.flows.moveParentToWaitIfNeeded(target.id, timestamp);
    } else {
      target.flows.releaseIfNoPendingDependencies(target.id, timestamp);
      if (parent.idof) links.ignored.set(childKey, reason);
    }
  }

  /**
   * removeParentDependencyKey.lua: takes a child of this queue out of its parent's pending children; the parent
   * leaves waiting-children when that was the last one. `hard` (clean, drain) deletes a freed parent of the same
   * queue as well. Without `parentKey`, the child's own stored parent is used (it must exist).
   */
  detach(childId: string, hard: boolean, parentKey?: string): boolean {
    const key = parentKey ?? this.state.getJob(childId)?.parentKey;
    if (!key) return false;
    const parent = this.locate(key);
    const links = parent?.job?.children;
    if (!parent || !links?.pending.delete(this.jobKey(childId))) return false;
    if (links.pending.size === 0 && parent.flows.waitingChildren.delete(parent.id)) {
      if (!hard) {
        parent.flows.pushParentToWait(parent.id, true);
      } else if (parent.state === this.state) {
        this.detach(parent.id, true);
        this.state.jobs.delete(parent.id);
      } else {
        parent.flows.pushParentToWait(parent.id, false);
      }
    }
    return true;
  }

  /** removeChildDependency.lua (Job#removeChildDependency). */
  removeChildDependency(jobId: string, parentKey: string | undefined): boolean {
    const job = this.state.getJob(jobId);
    if (!job) throw backendError(ErrorCode.JobNotExist, jobId, 'removeChildDependency');
    if (!parentKey || !this.exists(parentKey)) throw backendError(ErrorCode.ParentJobNotExist, jobId, 'removeChildDependency', undefined, parentKey);
    if (!this.detach(jobId, false, parentKey)) return false;
    job.parentKey = undefined;
    job.parent = undefined;
    return true;
  }

  /** reprocessJob.lua's moveChildBackToParentDependencies: a retried child is pending again for its parent. */
  moveChildBackToParentDependencies(job: StoredJob, prevState: 'failed' | 'completed'): void {
    const links = job.parentKey ? this.locate(job.parentKey)?.job?.children : undefined;
    if (!links) return;
    const key = this.jobKey(job.id);
    const was = prevState === 'failed' ? links.unsuccessful.delete(key) || links.ignored.delete(key) : links.processed.delete(key);
    if (was) links.pending.add(key);
  }

  /** moveToWaitingChildren.lua: true when the job now waits for children, false when none (or not `childKey`) is pending. */
  moveToWaitingChildren(jobId: string, token: string, childKey?: string): boolean {
    const job = this.state.getJob(jobId);
    if (!job) throw backendError(ErrorCode.JobNotExist, jobId, 'moveToWaitingChildren');
    const links = job.children;
    if (links && links.unsuccessful.size > 0) throw backendError(ErrorCode.JobHasFailedChildren, jobId, 'moveToWaitingChildren');
    const waits = childKey ? !!links?.pending.has(childKey) : (links?.pending.size ?? 0) > 0;
    if (!waits) return false;
    const code = this.state.releaseLock(job, token);
    if (code < 0) throw backendError(code, jobId, 'moveToWaitingChildren', 'active');
    if (!this.state.removeFromActive(jobId)) throw backendError(ErrorCode.JobNotInState, jobId, 'moveToWaitingChildren', 'active');
    this.waitingChildren.add(jobId, this.state.now());
    this.state.addEvent('event', 'waiting-children', 'jobId', jobId, 'prev', 'active');
    return true;
  }

  // ---------------------------------------------------------------- removal

  /** removeJob.lua: 0 when the job (or, with children, a pending descendant) is locked; else removes and returns 1. */
  remove(jobId: string, removeChildren: boolean, removed: RemovedJob[]): number {
    if (this.isLocked(jobId, removeChildren)) return 0;
    this.removeWithChildren(jobId, undefined, { removeChildren, ignoreProcessed: false, ignoreLocked: false }, removed);
    return 1;
  }

  /** removeUnprocessedChildren.lua: removes the pending children (not locked, not failed) and their descendants. */
  removeUnprocessedChildren(jobId: string, removed: RemovedJob[]): void {
    this.removeChildren(jobId, { removeChildren: true, ignoreProcessed: true, ignoreLocked: true }, removed);
  }

  /** isLocked.lua. */
  private isLocked(jobId: string, removeChildren: boolean): boolean {
    const job = this.state.getJob(jobId);
    if (job && this.state.lockHeld(job)) return true;
    if (!removeChildren) return false;
    return [...(job?.children?.pending ?? [])].some((key) => {
      const child = this.locate(key);
      return !!child && child.flows.isLocked(child.id, true);
    });
  }

  /** removeJobWithChildren (removeJobWithChildren.lua). */
  private removeWithChildren(jobId: string, parentKey: string | undefined, options: RemoveOptions, removed: RemovedJob[]): void {
    const job = this.state.getJob(jobId);
    if (options.ignoreLocked && job && this.state.lockHeld(job)) return;
    if (options.ignoreProcessed && this.state.failed.has(jobId)) return;
    this.detach(jobId, false, parentKey);
    if (options.removeChildren) this.removeChildren(jobId, options, removed);
    const prev = this.removeFromAnyState(jobId);
    if (job) releaseDeduplicationOnRemoval(this.state, job);
    if (this.state.jobs.delete(jobId)) {
      this.state.addEvent('event', 'removed', 'jobId', jobId, 'prev', prev);
      removed.push({ queue: this.state.qualifiedName, id: jobId });
    }
  }

  /** removeJobChildren: depth first, finished children first (unless ignored), then the pending ones. */
  private removeChildren(jobId: string, options: RemoveOptions, removed: RemovedJob[]): void {
    const links = this.state.getJob(jobId)?.children;
    if (!links) return;
    const parentKey = this.jobKey(jobId);
    const keys = options.ignoreProcessed ? [] : [...links.processed.keys(), ...links.ignored.keys(), ...links.unsuccessful.members()];
    for (const key of [...keys, ...links.pending]) {
      const child = this.locate(key);
      child?.flows.removeWithChildren(child.id, parentKey, options, removed);
    }
  }

  /** removeJobFromAnyState.lua: returns the state the job was taken from, as the 'removed' event's `prev`. */
  private removeFromAnyState(jobId: string): string {
    const s = this.state;
    if (s.completed.delete(jobId)) return 'completed';
    if (this.waitingChildren.delete(jobId)) return 'waiting-children';
    if (s.delayed.delete(jobId)) {
      s.armDelayTimer();
      return 'delayed';
    }
    if (s.failed.delete(jobId)) return 'failed';
    if (s.prioritized.delete(jobId)) return 'prioritized';
    const i = s.wait.lastIndexOf(jobId);
    if (i >= 0) {
      s.wait.splice(i, 1);
      return 'wait';
    }
    if (s.removeFromActive(jobId)) {
      s.stalled.delete(jobId);
      return 'active';
    }
    return 'unknown';
  }

  // ---------------------------------------------------------------- getters

  /** getDependencyCounts.lua: per type, in the order asked (any unknown type counts the failed children). */
  dependencyCounts(jobId: string, types: string[]): number[] {
    const links = this.state.getJob(jobId)?.children;
    return types.map((type) => {
      if (type === 'processed') return links?.processed.size ?? 0;
      if (type === 'unprocessed') return links?.pending.size ?? 0;
      if (type === 'ignored') return links?.ignored.size ?? 0;
      return links?.unsuccessful.size ?? 0;
    });
  }

  processedValues(jobId: string): Record<string, string> {
    return Object.fromEntries(this.state.getJob(jobId)?.children?.processed ?? []);
  }

  ignoredFailures(jobId: string): Record<string, string> {
    return Object.fromEntries(this.state.getJob(jobId)?.children?.ignored ?? []);
  }

  /** The Redis backend's getDependencies: everything at once, or one SCAN page per asked type. */
  dependencies(jobId: string, opts: DependenciesOpts): DependenciesResult {
    const links = this.state.getJob(jobId)?.children ?? new ChildLinks();
    if (!opts.processed && !opts.unprocessed && !opts.ignored && !opts.failed) {
      return {
        processed: parseObjectValues(Object.fromEntries(links.processed)),
        unprocessed: [...links.pending],
        failed: links.unsuccessful.members(),
        ignored: Object.fromEntries(links.ignored),
      };
    }
    const page = (o: { cursor?: number; count?: number }) => ({ cursor: o.cursor ?? 0, count: o.count ?? 20 });
    const result: DependenciesResult = {};
    if (opts.processed) {
      const [next, entries] = hscan([...links.processed], page(opts.processed));
      result.processed = Object.fromEntries(entries.map(([k, v]) => [k, JSON.parse(v)]));
      result.nextProcessedCursor = next;
    }
    if (opts.ignored) {
      const [next, entries] = hscan([...links.ignored], page(opts.ignored));
      result.ignored = Object.fromEntries(entries);
      result.nextIgnoredCursor = next;
    }
    if (opts.failed) {
      const { cursor, count } = page(opts.failed);
      // As the Redis backend: ZRANGE cursor..count-1, next cursor = cursor + count (left out when 0).
      if (cursor + count) {
        result.failed = rangeByIndex(links.unsuccessful.members(), cursor, count - 1);
        result.nextFailedCursor = cursor + count;
      }
    }
    if (opts.unprocessed) {
      const [next, members] = sscan([...links.pending], page(opts.unprocessed));
      result.unprocessed = members;
      result.nextUnprocessedCursor = next;
    }
    return result;
  }

  /** paginate.lua over a job's `:processed` (hash) or `:dependencies` (set) key, fetching the child jobs. */
  paginate(key: string, opts: { start: number; end: number; fetchJobs?: boolean }): {
    cursor: string;
    items: { id: string; v?: unknown; err?: string }[];
    total: number;
    jobs?: JobJson[];
  } {
    const kind = key.endsWith(':processed') ? 'processed' : key.endsWith(':dependencies') ? 'dependencies' : undefined;
    const jobKey = kind ? key.slice(0, key.length - kind.length - 1) : undefined;
    const links = jobKey ? this.locate(jobKey)?.job?.children : undefined;
    const members = !links ? [] : kind === 'processed' ? [...links.processed] : [...links.pending].map((k) => [k] as [string, string?]);
    if (members.length === 0) return { cursor: '0', items: [], total: 0, jobs: [] };
    const end = opts.end === -1 ? members.length : opts.end;
    const chosen = members.slice(opts.start, opts.start + (end - opts.start) + 1);
    const items = chosen.map(([id, value]) => {
      if (value === undefined) return { id };
      try {
        return { id, v: JSON.parse(value) as unknown };
      } catch (err) {
        return { id, err: (err as Error).message };
      }
    });
    const jobs = opts.fetchJobs ? chosen.map(([id]) => this.jobJsonOf(id)) : [];
    return { cursor: '0', items, total: members.length, jobs };
  }

  /** A child job as HGETALL + rawToJobJson give it: the job hash holds no id (and a missing child is an empty hash). */
  private jobJsonOf(key: string): JobJson {
    const child = this.locate(key);
    if (child?.job) return { ...child.state.toJobJson(child.job), id: undefined as unknown as string };
    return { data: '{}', opts: {}, progress: 0, delay: NaN, priority: NaN, timestamp: NaN, attemptsStarted: 0, attemptsMade: 0, stalledCounter: 0 } as unknown as JobJson;
  }
}

/** HSCAN as a caller sees it: a listpack hash comes back whole with cursor 0, a hash table one page by page. */
function hscan(entries: [string, string][], page: { cursor: number; count: number }): [number, [string, string][]] {
  const small = entries.length <= LISTPACK_MAX_ENTRIES && entries.every((e) => e.every((v) => Buffer.byteLength(v) <= LISTPACK_MAX_VALUE_BYTES));
  return small ? [0, entries] : sscan(entries, page);
}

/**
 * SSCAN (or HSCAN) of a hash table as a caller sees it: `count` entries from `cursor`, next cursor 0 once done
 * (Redis' pages hold about `count` entries, in hash order, and its cursors are bucket indexes).
 */
function sscan<T>(entries: T[], { cursor, count }: { cursor: number; count: number }): [number, T[]] {
  const next = cursor + count;
  return [next >= entries.length ? 0 : next, entries.slice(cursor, next)];
}
