import {
  entityKey,
  type EnqueuedJob,
  type JobExecution,
  type OverlapViolation,
  type SingleWorkerResult,
} from '@nestjs/atomic-queues/testing';

/**
 * Numbers the chaos report derives from a run's history, beside the shared checkers: a throughput/error
 * timeline, the jobs in flight during the fault (their duplicates are allowed) and the time to recover.
 */
export interface TimelineBucket {
  /** Bucket start, ms since the run's load started. */
  t: number;
  /** Executions that completed with their effect applied. */
  completed: number;
  /** Attempts that threw (other than a rejected write). */
  failed: number;
  /** Attempts whose executor died (no end recorded), counted at their start. */
  crashed: number;
  /** Attempts whose late write the fencing sink rejected (the node then gives the job back: outcome 'failed'). */
  rejected: number;
  /** Producer adds that failed with an unknown outcome, counted at the time they were given up. */
  addErrors: number;
}

/** Attempts that ended with their write rejected by the fencing sink (whatever the processor did next). */
export const rejectedWrites = (history: readonly JobExecution[]): number =>
  history.filter((e) => e.applied === false && e.end !== undefined && e.outcome !== 'crashed' && e.outcome !== 'running').length;

export function buildTimeline(
  history: readonly JobExecution[],
  startedAt: number,
  endedAt: number,
  bucketMs: number,
  enqueued: readonly EnqueuedJob[] = [],
): TimelineBucket[] {
  if (!(bucketMs > 0)) throw new Error(`buildTimeline: bucketMs=${bucketMs} is invalid; accepted values: a number > 0`);
  const count = Math.max(1, Math.ceil((endedAt - startedAt) / bucketMs));
  const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({ t: i * bucketMs, completed: 0, failed: 0, crashed: 0, rejected: 0, addErrors: 0 }));
  const at = (time: number): TimelineBucket | undefined => buckets[Math.floor((time - startedAt) / bucketMs)];
  for (const e of history) {
    if (e.outcome === 'crashed' || e.outcome === 'running' || e.end === undefined) {
      if (e.outcome === 'crashed') {
        const b = at(e.start);
        if (b) b.crashed++;
      }
      continue;
    }
    const b = at(e.end);
    if (!b) continue;
    if (e.applied === false) b.rejected++;
    else if (e.outcome === 'failed') b.failed++;
    else b.completed++;
  }
  for (const j of enqueued) {
    if (j.status !== 'unknown' || j.at === undefined) continue;
    const b = at(j.at);
    if (b) b.addErrors++;
  }
  return buckets;
}

/**
 * jobIds with an execution in flight at some moment of [from, to] (an execution without end counts as running
 * until the end of time). Their duplicates are the at-least-once re-runs the contract allows.
 */
export function jobsInFlightDuring(history: readonly JobExecution[], from: number, to: number): Set<string> {
  const ids = new Set<string>();
  for (const e of history) if (e.start <= to && (e.end ?? Infinity) >= from) ids.add(e.jobId);
  return ids;
}

export interface Recovery {
  /** Longest time from the heal until an entity that had work pending at the heal completed a job again. */
  ms: number | null;
  /** Entities with work pending at the heal. */
  pendingEntities: number;
  /** Of those, entities that never completed a job after the heal. */
  unrecovered: number;
}

/**
 * Recovery after heal: for every entity with an acknowledged job not yet completed at `healedAt`, the time from
 * `healedAt` to its first applied completion after it; the maximum over those entities. Enqueues without an `at`
 * time are ignored (the pending state at heal is unknown).
 */
export function recoveryAfterHeal(enqueued: readonly EnqueuedJob[], history: readonly JobExecution[], healedAt: number): Recovery {
  const doneBefore = new Set<string>();
  const firstAfter = new Map<string, number>();
  for (const e of history) {
    if (e.outcome !== 'completed' || e.applied === false || e.end === undefined) continue;
    if (e.end <= healedAt) doneBefore.add(`${entityKey(e)}#${e.jobId}`);
    else {
      const key = entityKey(e);
      const prev = firstAfter.get(key);
      if (prev === undefined || e.end < prev) firstAfter.set(key, e.end);
    }
  }
  const pending = new Set<string>();
  for (const j of enqueued) {
    if (j.at === undefined || j.at > healedAt) continue;
    if (!doneBefore.has(`${entityKey(j)}#${j.jobId}`)) pending.add(entityKey(j));
  }
  let ms: number | null = null;
  let unrecovered = 0;
  for (const key of pending) {
    const end = firstAfter.get(key);
    if (end === undefined) unrecovered++;
    else ms = Math.max(ms ?? 0, end - healedAt);
  }
  return { ms: pending.size === 0 ? 0 : ms, pendingEntities: pending.size, unrecovered };
}

/** Errors of a bucket as the report draws them: failed, crashed, rejected writes and failed adds. */
export const bucketErrors = (b: TimelineBucket): number => b.failed + b.crashed + b.rejected + b.addErrors;

/**
 * Diagnostic for overlapping applied executions (checkSingleWorkerPerEntity with onlyApplied): pairs where the
 * execution that started first holds the *newer* fencing token — a stale holder (paused, partitioned) that took
 * its token only after the takeover, so the sink accepted its late write. Counted among the listed pairs.
 */
export function staleTokenOverlaps(result: SingleWorkerResult): number {
  const stale = (v: OverlapViolation) =>
    v.running.fencingToken !== undefined && v.execution.fencingToken !== undefined && v.running.fencingToken > v.execution.fencingToken;
  return result.violations.filter(stale).length;
}

/** One node's share of the work of a run: what it completed (applied effects only), over the whole run. */
export interface NodeShare {
  node: string;
  /** Distinct entities this node completed at least one job of. */
  entities: number;
  /** Applied completions on this node. */
  jobs: number;
  /** `entities` / distinct entities completed cluster-wide, and `jobs` / all applied completions (0–1). */
  entityShare: number;
  jobShare: number;
}

/**
 * Per-node share of entities and jobs (applied completions). An entity served by several nodes over the run (its
 * worker released when idle, then taken by another node, or taken over after a fault) counts for each of them, so
 * entity shares may sum to more than 1.
 */
export function nodeShares(history: readonly JobExecution[]): NodeShare[] {
  const byNode = new Map<string, { entities: Set<string>; jobs: number }>();
  const allEntities = new Set<string>();
  let allJobs = 0;
  for (const e of history) {
    if (e.outcome !== 'completed' || e.applied === false) continue;
    const node = e.node ?? '(unknown)';
    const entry = byNode.get(node) ?? { entities: new Set<string>(), jobs: 0 };
    const key = entityKey(e);
    entry.entities.add(key);
    entry.jobs += 1;
    byNode.set(node, entry);
    allEntities.add(key);
    allJobs += 1;
  }
  return [...byNode.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([node, { entities, jobs }]) => ({
      node,
      entities: entities.size,
      jobs,
      entityShare: allEntities.size ? entities.size / allEntities.size : 0,
      jobShare: allJobs ? jobs / allJobs : 0,
    }));
}

/** Peak Redis connections per node seen by the connection sampler of a run. */
export interface ConnectionPeaks {
  /** CLIENT LIST samples taken (failed samples, e.g. while Redis is down, are not counted). */
  samples: number;
  /** Highest number of connections named `aq:<node>:…` seen at once, per node. */
  peakPerNode: Record<string, number>;
  /** Connection kinds (`cmd`, `sub`, `hb`, `queues`, `workers`, …) of each node in its peak sample. */
  kindsAtPeak: Record<string, Record<string, number>>;
  /** Most connections without a name seen at once (not attributable to a node; nodes reach Redis via Toxiproxy). */
  peakUnnamed: number;
  /** Most entity workers alive at once, cluster-wide (size of the engine's lease set `<prefix>:leases`). */
  peakEntityWorkers?: number;
}

/** Node id and kind of a connection named by the module (`aq:<nodeId>:<kind>`), undefined for other names. */
export function moduleConnectionOwner(name: string): { node: string; kind: string } | undefined {
  const m = /^aq:(.+):([^:]+)$/.exec(name);
  return m ? { node: m[1]!, kind: m[2]! } : undefined;
}

/** Folds one CLIENT LIST sample (client names) into the peaks, counting only the given nodes. */
export function addConnectionSample(peaks: ConnectionPeaks, names: readonly string[], nodeIds: readonly string[]): void {
  const wanted = new Set(nodeIds);
  const perNode = new Map<string, Record<string, number>>();
  let unnamed = 0;
  for (const name of names) {
    if (name === '') {
      unnamed++;
      continue;
    }
    const owner = moduleConnectionOwner(name);
    if (!owner || !wanted.has(owner.node)) continue;
    const kinds = perNode.get(owner.node) ?? {};
    kinds[owner.kind] = (kinds[owner.kind] ?? 0) + 1;
    perNode.set(owner.node, kinds);
  }
  peaks.samples += 1;
  peaks.peakUnnamed = Math.max(peaks.peakUnnamed, unnamed);
  for (const [node, kinds] of perNode) {
    const total = Object.values(kinds).reduce((a, b) => a + b, 0);
    if (total > (peaks.peakPerNode[node] ?? 0)) {
      peaks.peakPerNode[node] = total;
      peaks.kindsAtPeak[node] = kinds;
    }
  }
}
