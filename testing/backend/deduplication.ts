import type { DeduplicationOptions, JobJson, JobsOptions } from 'bullmq';
import type { Clock } from '../../src/ports/clock.js';
import type { SortedSet } from './sorted-set.js';

/** The parts of a stored job the deduplication scripts read. */
interface DeduplicatedJob {
  id: string;
  delay: number;
  opts: JobsOptions;
}

/** The queue state the deduplication scripts work on (QueueState provides it). */
export interface DeduplicationHost {
  readonly deduplication: Deduplication;
  readonly jobs: Map<string, DeduplicatedJob>;
  readonly delayed: SortedSet;
  readonly active: string[];
  now(): number;
  addEvent(...fields: (string | number)[]): string;
  addDelayed(job: DeduplicatedJob, due: number): void;
  armDelayTimer(): void;
  storeAndEnqueue(json: Pick<JobJson, 'name' | 'data' | 'opts'>, id: string, timestamp: number): void;
  nextJobId(): string;
}

/** A `dn:<id>` hash: the job to create when the active deduplicated job finishes (keepLastIfActive). */
interface NextJob {
  name: string;
  data: string;
  opts: JobsOptions;
  jobId: string;
}

/** What the last operations did besides their result, for the store's observers (read once by the backend). */
export interface DeduplicationNews {
  /** An add was deduplicated (no new job stored). */
  deduplicated: boolean;
  /** Delayed jobs deleted by a `replace` add. */
  replaced: string[];
  /** Jobs created from a stored next job when the active one finished. */
  requeued: string[];
}

/**
 * The `de:<id>` keys (the job id that holds a deduplication id, with an optional expiry on the store's clock)
 * and the `dn:<id>` next-job hashes of one queue. Expiry is checked on access, as Redis does. The scripts below
 * mirror BullMQ's deduplicateJob.lua family.
 */
export class Deduplication {
  private readonly keys = new Map<string, { jobId: string; expiresAt: number | undefined }>();
  private readonly nextJobs = new Map<string, NextJob>();
  private news: DeduplicationNews = { deduplicated: false, replaced: [], requeued: [] };

  constructor(private readonly clock: Clock) {}

  /** GET de:<id>. */
  get(id: string): string | null {
    return this.entry(id)?.jobId ?? null;
  }

  /** PTTL de:<id>: -2 missing, -1 no expiry, else ms left. */
  pttl(id: string): number {
    const e = this.entry(id);
    if (!e) return -2;
    return e.expiresAt === undefined ? -1 : e.expiresAt - this.clock.now();
  }

  /** SET de:<id> jobId [PX ttl] (a plain SET drops any expiry). */
  set(id: string, jobId: string, ttl?: number): void {
    this.keys.set(id, { jobId, expiresAt: ttl !== undefined ? this.clock.now() + ttl : undefined });
  }

  /** SET de:<id> jobId [PX ttl] NX: false when the key exists. */
  setIfAbsent(id: string, jobId: string, ttl?: number): boolean {
    if (this.entry(id)) return false;
    this.set(id, jobId, ttl);
    return true;
  }

  /** SET de:<id> jobId KEEPTTL. */
  setKeepTtl(id: string, jobId: string): void {
    const e = this.entry(id);
    this.keys.set(id, { jobId, expiresAt: e?.expiresAt });
  }

  /** PERSIST de:<id>. */
  persist(id: string): void {
    const e = this.entry(id);
    if (e) e.expiresAt = undefined;
  }

  /** DEL de:<id>: 1 when it existed. */
  del(id: string): number {
    const existed = this.entry(id) !== undefined;
    this.keys.delete(id);
    return existed ? 1 : 0;
  }

  storeNext(id: string, next: NextJob): void {
    this.nextJobs.set(id, next);
  }

  takeNext(id: string): NextJob | undefined {
    const next = this.nextJobs.get(id);
    this.nextJobs.delete(id);
    return next;
  }

  deleteNext(id: string): void {
    this.nextJobs.delete(id);
  }

  /** Reads and resets what happened since the last call. */
  takeNews(): DeduplicationNews {
    const news = this.news;
    this.news = { deduplicated: false, replaced: [], requeued: [] };
    return news;
  }

  noteDeduplicated(): void {
    this.news.deduplicated = true;
  }

  noteReplaced(jobId: string): void {
    this.news.replaced.push(jobId);
  }

  noteRequeued(jobId: string): void {
    this.news.requeued.push(jobId);
  }

  private entry(id: string) {
    const e = this.keys.get(id);
    if (e && e.expiresAt !== undefined && e.expiresAt <= this.clock.now()) {
      this.keys.delete(id);
      return undefined;
    }
    return e;
  }
}

function positiveTtl(opts: DeduplicationOptions): number | undefined {
  return opts.ttl !== undefined && opts.ttl > 0 ? opts.ttl : undefined;
}

/** setDeduplicationKey.lua */
function setKey(host: DeduplicationHost, opts: DeduplicationOptions | undefined, jobId: string): void {
  const id = opts!.id;
  host.deduplication.set(id, jobId, opts ? positiveTtl(opts) : undefined);
}

/** The key a job sets for itself: keepLastIfActive keys have no expiry (they live as long as the job). */
function setOwnKey(host: DeduplicationHost, opts: DeduplicationOptions, jobId: string): void {
  if (opts.keepLastIfActive) host.deduplication.set(opts.id, jobId);
  else setKey(host, opts, jobId);
}

function emitDeduplicated(host: DeduplicationHost, jobId: string, deduplicationId: string, deduplicatedJobId: string): void {
  host.addEvent('event', 'deduplicated', 'jobId', jobId, 'deduplicationId', deduplicationId, 'deduplicatedJobId', deduplicatedJobId);
}

/**
 * recoverStaleDeduplicationKey.lua: a key without expiry whose job no longer exists is stale; the incoming job
 * takes it over (and any stored next job is dropped).
 */
function recoverStaleKey(host: DeduplicationHost, opts: DeduplicationOptions, current: string, jobId: string): boolean {
  const dedup = host.deduplication;
  if (dedup.pttl(opts.id) === -1 && !host.jobs.has(current)) {
    dedup.del(opts.id);
    dedup.deleteNext(opts.id);
    setOwnKey(host, opts, jobId);
    return true;
  }
  return false;
}

/**
 * storeDeduplicatedNextJob.lua: with keepLastIfActive and the holder active, the incoming job is kept (latest
 * wins) to be created when the holder finishes; the key loses its expiry meanwhile.
 */
function storeNextJob(host: DeduplicationHost, opts: DeduplicationOptions, current: string, json: JobJson, jobId: string): boolean {
  if (!opts.keepLastIfActive || !host.active.includes(current)) return false;
  host.deduplication.storeNext(opts.id, { name: json.name, data: json.data ?? '{}', opts: structuredClone(json.opts ?? {}), jobId });
  host.deduplication.persist(opts.id);
  emitDeduplicated(host, current, opts.id, jobId);
  return true;
}

/** deduplicateJobWithoutReplace.lua: returns the holder's id when the incoming job is deduplicated. */
function deduplicateWithoutReplace(host: DeduplicationHost, opts: DeduplicationOptions, json: JobJson, jobId: string): string | undefined {
  const dedup = host.deduplication;
  const ttl = positiveTtl(opts);
  let keyExisted: boolean;
  if (ttl !== undefined) {
    if (opts.extend) {
      const current = dedup.get(opts.id);
      if (current === null) {
        setOwnKey(host, opts, jobId);
        return undefined;
      }
      if (recoverStaleKey(host, opts, current, jobId)) return undefined;
      if (storeNextJob(host, opts, current, json, jobId)) return current;
      setOwnKey(host, opts, current); // the window restarts
      emitDeduplicated(host, current, opts.id, jobId);
      return current;
    }
    keyExisted = !dedup.setIfAbsent(opts.id, jobId, opts.keepLastIfActive ? undefined : ttl);
  } else {
    keyExisted = !dedup.setIfAbsent(opts.id, jobId);
  }
  if (!keyExisted) return undefined;
  const current = dedup.get(opts.id)!;
  if (recoverStaleKey(host, opts, current, jobId)) return undefined;
  if (storeNextJob(host, opts, current, json, jobId)) return current;
  emitDeduplicated(host, current, opts.id, jobId);
  return current;
}

/**
 * deduplicateJob.lua, run by every add (addStandardJob / addDelayedJob / addPrioritizedJob) before the job is
 * stored (`timestamp`: the incoming job's). Returns the id of the job that holds the deduplication id when the
 * add is deduplicated (the add then returns that id and stores nothing), else undefined.
 */
export function deduplicateJob(host: DeduplicationHost, json: JobJson, jobId: string, timestamp: number): string | undefined {
  const opts = json.opts?.deduplication;
  if (opts?.id === undefined) return undefined;
  const dedup = host.deduplication;
  if (!opts.replace) {
    const current = deduplicateWithoutReplace(host, opts, json, jobId);
    if (current !== undefined && opts.reschedule && host.delayed.has(current)) {
      const held = host.jobs.get(current)!;
      const delay = Number(json.opts?.delay) || 0;
      held.delay = delay;
      host.addDelayed(held, timestamp + Math.max(0, delay));
    }
    if (current !== undefined) dedup.noteDeduplicated();
    return current;
  }
  const current = dedup.get(opts.id);
  if (current === null) {
    setOwnKey(host, opts, jobId);
    return undefined;
  }
  if (host.delayed.delete(current)) {
    // removeDelayedJob: the delayed holder is replaced by the incoming job.
    host.jobs.delete(current);
    host.armDelayTimer();
    host.addEvent('event', 'removed', 'jobId', current, 'prev', 'delayed');
    emitDeduplicated(host, jobId, opts.id, current);
    dedup.noteReplaced(current);
    dedup.deleteNext(opts.id);
    if (opts.keepLastIfActive) dedup.set(opts.id, jobId);
    else if (!opts.extend && positiveTtl(opts) !== undefined) dedup.setKeepTtl(opts.id, jobId);
    else setKey(host, opts, jobId);
    return undefined;
  }
  if (recoverStaleKey(host, opts, current, jobId)) return undefined;
  storeNextJob(host, opts, current, json, jobId);
  dedup.noteDeduplicated();
  return current;
}

/**
 * moveToFinished.lua: removeDeduplicationKeyIfNeededOnFinalization (a key without expiry held by this job is
 * released; a key with a ttl lives on until it expires), then requeueDeduplicatedJob (a stored next job is
 * created now, with the id its add was given).
 */
export function finalizeDeduplication(host: DeduplicationHost, job: DeduplicatedJob, now: number): void {
  const deduplicationId = job.opts.deduplication?.id;
  if (deduplicationId === undefined) return;
  const dedup = host.deduplication;
  if (dedup.pttl(deduplicationId) === -1 && dedup.get(deduplicationId) === job.id) dedup.del(deduplicationId);
  const next = dedup.takeNext(deduplicationId);
  if (!next) return;
  host.nextJobId(); // requeueDeduplicatedJob.lua always INCRs the id counter
  const nextOpts = next.opts.deduplication;
  if (nextOpts?.keepLastIfActive) dedup.set(deduplicationId, next.jobId);
  else setKey(host, nextOpts ?? { id: deduplicationId }, next.jobId);
  host.storeAndEnqueue({ name: next.name, data: next.data, opts: next.opts }, next.jobId, now);
  dedup.noteRequeued(next.jobId);
}

/** removeDeduplicationKeyIfNeededOnRemoval.lua (remove, drain, clean, obliterate): the job's own key goes, with its next job. */
export function releaseDeduplicationOnRemoval(host: DeduplicationHost, job: DeduplicatedJob): void {
  const deduplicationId = job.opts.deduplication?.id;
  if (deduplicationId === undefined) return;
  if (host.deduplication.get(deduplicationId) === job.id) {
    host.deduplication.del(deduplicationId);
    host.deduplication.deleteNext(deduplicationId);
  }
}

/** removeDeduplicationKey.lua (Job#removeDeduplicationKey): deletes the key only while `jobId` holds it. */
export function removeDeduplicationKey(host: DeduplicationHost, deduplicationId: string, jobId: string): number {
  return host.deduplication.get(deduplicationId) === jobId ? host.deduplication.del(deduplicationId) : 0;
}
