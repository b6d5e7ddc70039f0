import {
  ErrorCode,
  defaultRepeatStrategy,
  optsDecodeMap,
  optsEncodeMap,
  type JobSchedulerJobOptions,
  type JobsOptions,
  type RepeatOptions,
  type RepeatStrategy,
  type RepeatableOptions,
} from 'bullmq';
import { backendError } from './errors.js';
import type { QueueState, StoredJob } from './queue-state.js';
import { rangeByIndex } from './sorted-set.js';

/** The store's observers, told through the backend: a scheduler's new iterations and the pending ones it deleted. */
export interface SchedulerHost {
  /** Reports a new iteration (the store's `added` event). */
  added(jobId: string): void;
  /** Reports iterations a scheduler deleted (the store's `removed` event). */
  removed(jobIds: readonly string[]): void;
}

/** One job scheduler: its score in the `repeat` sorted set (next run) and its `repeat:<id>` hash, as strings. */
interface SchedulerRecord {
  next: number;
  fields: Map<string, string>;
}

type LuaTable = Record<string, any>;

const MAX_SLOT_SCANS = 32;

/**
 * The job schedulers of one queue (the Redis `repeat` sorted set and its `repeat:<id>` hashes) and the scripts
 * that change them: addJobScheduler.lua, updateJobScheduler.lua, removeJobScheduler.lua, getJobScheduler.lua,
 * plus the checks other scripts make (isJobSchedulerJob, the repeatable test of moveStalledJobsToWait).
 * Every method is synchronous against the queue state, so each is atomic like its script.
 */
export class JobSchedulers {
  private readonly records = new Map<string, SchedulerRecord>();

  constructor(private readonly state: QueueState) {}

  get size(): number {
    return this.records.size;
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** The scheduler's next run (its score), if it exists. */
  nextMillis(id: string): number | undefined {
    return this.records.get(id)?.next;
  }

  clear(): void {
    this.records.clear();
  }

  /** Scheduler ids by next run, ties by id (ZRANGE order). */
  ids(): string[] {
    return this.sorted().map(([id]) => id);
  }

  /** isJobSchedulerJob.lua: the job is its scheduler's current iteration (drain, clean and remove leave it alone). */
  isCurrentIteration(job: StoredJob): boolean {
    const rjk = job.repeatJobKey;
    if (rjk === undefined) return false;
    const next = this.records.get(rjk)?.next;
    return next !== undefined && job.id === `repeat:${rjk}:${next}`;
  }

  /** removeJob.lua's first check: a scheduler's current iteration cannot be removed directly. */
  assertRemovable(jobId: string): void {
    const job = this.state.getJob(jobId);
    if (job && this.isCurrentIteration(job)) throw backendError(ErrorCode.JobBelongsToJobScheduler, jobId, 'removeJob');
  }

  /** moveStalledJobsToWait.lua: a job of an existing scheduler never fails for stalling too often. */
  isRepeatable(job: StoredJob): boolean {
    return job.repeatJobKey !== undefined && this.records.has(job.repeatJobKey);
  }

  /** addJobScheduler.lua: creates or replaces a scheduler and enqueues its next iteration. Returns [jobId, delay]. */
  add(
    host: SchedulerHost,
    id: string,
    givenNextMillis: number,
    templateData: string,
    templateOpts: JobsOptions,
    repeatable: RepeatableOptions,
    delayedJobOpts: JobsOptions,
  ): [string, number] {
    const state = this.state;
    const now = state.now();
    const jobOpts = toLuaTable(encodeOpts(delayedJobOpts)) as LuaTable;
    const schedulerOpts = toLuaTable(repeatable) as LuaTable;
    const prevMillis = this.records.get(id)?.next;
    const every: number | undefined = schedulerOpts.every;
    const jobOffset = jobOpts.repeat?.offset ?? 0;
    const offset = schedulerOpts.offset ?? jobOffset;
    let newOffset = offset;
    let nextMillis = givenNextMillis;
    let updatedEvery = false;
    if (every !== undefined) {
      // A changed `every` restarts the schedule.
      let millis = prevMillis;
      if (prevMillis !== undefined && Number(this.records.get(id)!.fields.get('every')) !== every) {
        millis = undefined;
        updatedEvery = true;
      }
      [nextMillis, newOffset] = everyNextMillis(millis, every, now, offset, schedulerOpts.startDate);
    }

    let removedPrevJob = false;
    if (prevMillis !== undefined) {
      const currentJobId = `repeat:${id}:${prevMillis}`;
      if (state.jobs.has(currentJobId)) removedPrevJob = this.removeQueuedIteration(host, currentJobId);
    }
    if (removedPrevJob) {
      // The pending iteration was replaced: keep its time slot.
      if (every !== undefined && !updatedEvery) nextMillis = prevMillis!;
    } else {
      schedulerOpts.offset = newOffset;
    }

    let jobId = `repeat:${id}:${nextMillis}`;
    let hasCollision = false;
    if (state.jobs.has(jobId)) {
      if (every !== undefined) {
        // Walk forward past slots still held by jobs of an earlier scheduler with the same id.
        let scanned = 0;
        let exists: boolean;
        do {
          nextMillis += every;
          jobId = `repeat:${id}:${nextMillis}`;
          scanned++;
          exists = state.jobs.has(jobId);
        } while (exists && scanned < MAX_SLOT_SCANS);
        if (exists) throw backendError(ErrorCode.SchedulerJobSlotsBusy, '', 'addJobScheduler');
      } else {
        hasCollision = true;
      }
    }
    if (hasCollision && !removedPrevJob) throw backendError(ErrorCode.SchedulerJobIdCollision, '', 'addJobScheduler');
    if (hasCollision) {
      // Redis overwrites the colliding job's hash; here the old job is replaced as a whole.
      state.removeJob(jobId);
      host.removed([jobId]);
    }

    const delay = Math.max(0, nextMillis - now);
    this.store(id, nextMillis, schedulerOpts, templateData, JSON.stringify(toLuaTable(encodeOpts(templateOpts))));
    state.nextJobId(); // INCR of the queue's id key, as the script does
    this.addIteration(host, jobId, jobOpts, schedulerOpts.name, now, templateData, id, delay);
    return [jobId, delay];
  }

  /**
   * updateJobScheduler.lua: called by the Worker when it takes an iteration; when that iteration (`producerId`)
   * is still the scheduler's current one, enqueues the next. Returns the new job id, or null.
   */
  update(host: SchedulerHost, id: string, givenNextMillis: number, delayedJobOpts: JobsOptions, producerId?: string): string | null {
    const record = this.records.get(id);
    if (!record) return null;
    const state = this.state;
    const now = state.now();
    const prevMillis = record.next;
    const jobOpts = toLuaTable(encodeOpts(delayedJobOpts)) as LuaTable;
    const storedEvery = record.fields.get('every');
    let every = storedEvery !== undefined ? Number(storedEvery) : undefined;
    if (every === undefined && jobOpts.repeat?.every !== undefined) every = Number(jobOpts.repeat.every);
    let nextMillis = givenNextMillis;
    if (every !== undefined) {
      const startDate = record.fields.get('startDate');
      const offset = record.fields.get('offset') ?? jobOpts.repeat?.offset ?? 0;
      [nextMillis] = everyNextMillis(prevMillis, every, now, offset, startDate === undefined ? undefined : Number(startDate));
    }
    const nextJobId = `repeat:${id}:${nextMillis}`;
    if (producerId !== `repeat:${id}:${prevMillis}`) return null;
    if (state.jobs.has(nextJobId)) {
      state.addEvent('event', 'duplicated', 'jobId', nextJobId);
      return null;
    }
    record.next = nextMillis;
    record.fields.set('ic', String(Number(record.fields.get('ic') ?? 0) + 1));
    state.nextJobId(); // INCR of the queue's id key, as the script does
    const delay = Math.max(0, nextMillis - now);
    jobOpts.delay = delay;
    this.addIteration(host, nextJobId, jobOpts, record.fields.get('name') ?? '', now, record.fields.get('data') ?? '{}', id, delay);
    return nextJobId;
  }

  /** removeJobScheduler.lua: deletes the scheduler and its next iteration if still delayed. 0 = removed, 1 = missing. */
  remove(host: SchedulerHost, id: string): number {
    const record = this.records.get(id);
    if (!record) return 1;
    const delayedJobId = `repeat:${id}:${record.next}`;
    if (this.state.delayed.has(delayedJobId)) {
      this.state.removeJob(delayedJobId);
      this.state.addEvent('event', 'removed', 'jobId', delayedJobId, 'prev', 'delayed');
      host.removed([delayedJobId]);
    }
    this.records.delete(id);
    return 0;
  }

  /** getJobScheduler.lua: [HGETALL of the hash, score] or [null, null]. */
  get(id: string): [string[] | null, string | null] {
    const record = this.records.get(id);
    return record ? [[...record.fields].flat(), String(record.next)] : [null, null];
  }

  /** HGETALL repeat:<id> ({} when missing). */
  data(id: string): Record<string, string> {
    return Object.fromEntries(this.records.get(id)?.fields ?? []);
  }

  /** ZRANGE / ZREVRANGE repeat start end WITHSCORES. */
  range(start: number, end: number, asc: boolean): string[] {
    const sorted = this.sorted();
    if (!asc) sorted.reverse();
    return rangeByIndex(sorted, start, end).flatMap(([id, next]) => [id, String(next)]);
  }

  private sorted(): [string, number][] {
    return [...this.records].map(([id, r]): [string, number] => [id, r.next]).sort(([a, x], [b, y]) => x - y || compareBinary(a, b));
  }

  /** removeJobFromScheduler (addJobScheduler.lua): the pending iteration goes if it is delayed, prioritized or waiting. */
  private removeQueuedIteration(host: SchedulerHost, jobId: string): boolean {
    const state = this.state;
    if (!state.delayed.has(jobId) && !state.prioritized.has(jobId) && !state.wait.includes(jobId)) return false;
    state.removeJob(jobId);
    host.removed([jobId]);
    return true;
  }

  /** storeJobScheduler.lua: rewrites the hash (keeping `ic` and, unless given, `offset`) and sets the score. */
  private store(id: string, next: number, opts: LuaTable, templateData: string, templateOptsJson: string): void {
    const old = this.records.get(id)?.fields;
    const fields = new Map<string, string>([['name', String(opts.name)]]);
    for (const key of ['tz', 'limit', 'pattern', 'startDate', 'endDate', 'every'] as const) {
      if (opts[key] !== undefined) fields.set(key, String(opts[key]));
    }
    if (opts.offset !== undefined) fields.set('offset', String(opts.offset));
    else if (old?.has('offset')) fields.set('offset', String(Number(old.get('offset'))));
    if (templateOptsJson !== '{}') fields.set('opts', templateOptsJson);
    if (templateData && templateData !== '{}') fields.set('data', templateData);
    fields.set('ic', old?.get('ic') ?? '1');
    this.records.set(id, { next, fields });
  }

  /** addJobFromScheduler.lua: stores and enqueues one iteration (delayed unless its delay is 0). */
  private addIteration(
    host: SchedulerHost,
    jobId: string,
    jobOpts: LuaTable,
    name: string,
    now: number,
    data: string,
    schedulerId: string,
    delay: number,
  ): void {
    const opts = decodeOpts({ ...jobOpts, delay, jobId });
    this.state.storeAndEnqueue({ name, data, opts, progress: 0, repeatJobKey: schedulerId }, jobId, now);
    host.added(jobId);
  }
}

/** getJobSchedulerEveryNextMillis.lua: the next run of an `every` scheduler and its offset within the interval. */
export function everyNextMillis(
  prevMillis: number | undefined,
  every: number,
  now: number,
  offsetValue: number | string,
  startDate: number | undefined,
): [number, number] {
  let offset = Number(offsetValue);
  let next: number;
  if (prevMillis === undefined) {
    if (startDate !== undefined) {
      next = Math.max(Number(startDate), now);
    } else if (offset > 0) {
      next = Math.floor(now / every) * every + offset;
      if (next <= now) next += every;
    } else {
      next = now;
    }
  } else {
    next = prevMillis + every;
    if (next < now) {
      // Missed iterations are skipped: the next slot after now, keeping the offset.
      const aligned = Math.floor(now / every) * every + (offset || 0);
      next = aligned <= now ? aligned + every : aligned;
    }
  }
  if (!offset) offset = next - Math.floor(next / every) * every;
  return [Math.floor(next), Math.floor(offset)];
}

/**
 * The time the JobScheduler would compute for a `pattern` scheduler, on the store's clock. BullMQ computes it in
 * the caller from `Date.now()`; the backend recomputes it from the clock with the same repeat strategy (the
 * caller's `settings.repeatStrategy`, else BullMQ's default), so a TestClock drives cron schedules too.
 *
 * - first run (`upsertJobScheduler`): when BullMQ decided "now" (`immediately`, i.e. the iteration's delay is 0),
 *   the run is at clock-now; otherwise the next occurrence after clock-now.
 * - later runs (`updateJobScheduler`, when a Worker takes an iteration): the next occurrence after
 *   max(clock-now, the iteration's time), as JobScheduler does with max(Date.now(), prevMillis).
 * Returns undefined when there is no next occurrence (past `endDate`).
 */
export async function patternNextMillis(
  strategy: RepeatStrategy | undefined,
  base: number,
  delayedJobOpts: JobSchedulerJobOptions,
  name: string,
  runNow: boolean,
): Promise<number | undefined> {
  if (runNow) return base;
  const repeatOpts = { ...(delayedJobOpts.repeat ?? {}), immediately: false } as RepeatOptions;
  const next = await (strategy ?? (defaultRepeatStrategy as RepeatStrategy))(base, repeatOpts, name);
  if (next === undefined || next === null || Number.isNaN(next)) return undefined;
  return next < base ? base : next;
}

/**
 * Whether BullMQ's first run of a `pattern` scheduler is "now" (`immediately`): its time is not after the moment
 * BullMQ stamped the iteration (a delay of 0), and it is not an occurrence of the pattern (an occurrence that just
 * passed in real time is still a pattern run, recomputed on the clock).
 */
export async function ranImmediately(
  strategy: RepeatStrategy | undefined,
  nextMillis: number,
  delayedJobOpts: JobSchedulerJobOptions,
  name: string,
): Promise<boolean> {
  if (Number(delayedJobOpts.delay) > 0) return false;
  return (await patternNextMillis(strategy, nextMillis - 1, delayedJobOpts, name, false)) !== nextMillis;
}

/** The JobScheduler's `endDate` check (BullMQ makes it against Date.now()), on the store's clock. */
export function pastEndDate(delayedJobOpts: JobSchedulerJobOptions, now: number): boolean {
  const endDate = delayedJobOpts.repeat?.endDate;
  return !!endDate && now > new Date(endDate).getTime();
}

/** BullMQ's optsAsJSON: public job options to their stored form (short keys, telemetry split). */
function encodeOpts(opts: JobsOptions = {}): LuaTable {
  const encoded: LuaTable = {};
  for (const [key, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    if (key in optsEncodeMap) encoded[(optsEncodeMap as Record<string, string>)[key]] = value;
    else if (key === 'telemetry') {
      if (value.metadata !== undefined) encoded.tm = value.metadata;
      if (value.omitContext !== undefined) encoded.omc = value.omitContext;
    } else encoded[key] = value;
  }
  return encoded;
}

/** BullMQ's optsFromJSON: stored options back to their public form. */
function decodeOpts(raw: LuaTable): JobsOptions {
  const opts: LuaTable = {};
  for (const [key, value] of Object.entries(raw)) {
    const decoded = (optsDecodeMap as Record<string, string>)[key];
    if (decoded) opts[decoded] = value;
    else if (key === 'tm') opts.telemetry = { ...opts.telemetry, metadata: value };
    else if (key === 'omc') opts.telemetry = { ...opts.telemetry, omitContext: value };
    else opts[key] = value;
  }
  return opts as JobsOptions;
}

/**
 * What a value becomes after msgpack into a Lua script and back: nil (null/undefined) entries disappear, NaN
 * becomes null through JSON; a copy, so the caller's objects are never shared with the store.
 */
function toLuaTable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toLuaTable);
  if (value instanceof Date) return value.toJSON();
  if (value !== null && typeof value === 'object') {
    const out: LuaTable = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) continue;
      out[k] = toLuaTable(v);
    }
    return out;
  }
  return value;
}

/** Redis orders equal scores by member bytes. */
function compareBinary(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
