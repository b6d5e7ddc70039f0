import { existsSync, rmSync } from 'node:fs';
import { readJsonlHistory, type JobExecution } from '@nestjs/atomic-queues/testing';
import { runProducers, startNodeCluster } from '../toolkit/cluster/cluster-run.js';
import type { ClusterLauncher } from '../toolkit/cluster/launcher.js';
import { collectRun, makeRunDir, waitForDrain, type RunDir } from '../toolkit/cluster/run-dir.js';
import type { NodeAppEnvInput } from '../toolkit/cluster/settings.js';
import { distribution, round, type Distribution } from '../toolkit/report/stats.js';

/**
 * Multi-process parts of the bench: real node processes (toolkit/cluster node-app, engine-spawned workers, JSONL
 * history per node) and producer processes on the bench's redis-server. Figures come from the nodes' histories.
 *   P5 a node SIGKILLed mid-job: per entity it owned, time from the kill to its next job start on another node
 *   P7 spread: share of entities and of jobs each node processed under sustained load
 */

const NODES = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClusterTimings {
  heartbeatTtlMs: number;
  cronIntervalMs: number;
}

function nodeSettings(run: RunDir, t: ClusterTimings, jobMs: number): NodeAppEnvInput {
  return {
    keyPrefix: run.id.replace(/[^\w]/g, ''),
    heartbeatTtlMs: t.heartbeatTtlMs,
    heartbeatIntervalMs: Math.max(100, Math.round(t.heartbeatTtlMs / 4)),
    cronIntervalMs: t.cronIntervalMs,
    lockDurationMs: t.heartbeatTtlMs,
    stalledIntervalMs: Math.max(100, Math.round(t.heartbeatTtlMs / 4)),
    jobMs,
  };
}

/** Histories written so far by every node (open attempts count as running). */
function histories(cluster: ClusterLauncher, run: RunDir): Map<string, JobExecution[]> {
  const out = new Map<string, JobExecution[]>();
  for (const node of cluster.nodes) {
    const file = run.historyFile(node.id);
    out.set(node.id, existsSync(file) ? readJsonlHistory([file], { open: 'running' }) : []);
  }
  return out;
}

async function withCluster<T>(name: string, redisUrl: string, settings: (run: RunDir) => NodeAppEnvInput, body: (cluster: ClusterLauncher, run: RunDir) => Promise<T>): Promise<T> {
  const run = makeRunDir(name);
  const cluster = await startNodeCluster({ run, redisUrl, nodes: NODES, settings: settings(run), readyTimeoutMs: 90_000 });
  let ok = false;
  try {
    const result = await body(cluster, run);
    ok = !(result as { drainError?: string }).drainError;
    return result;
  } finally {
    await cluster.stopAll({ graceMs: 5000 });
    if (ok) rmSync(run.path, { recursive: true, force: true });
    else console.log(`[bench] run dir kept: ${run.path}`);
  }
}

/**
 * Per entity the killed node was serving at `killedAt` (its last start before then ran there) and that ran a job
 * afterwards: ms from the kill to that entity's first start after it (on any node).
 */
export function resumeAfterKill(history: readonly JobExecution[], killedAt: number, victim: string): number[] {
  const lastBefore = new Map<string, JobExecution>();
  const firstAfter = new Map<string, JobExecution>();
  for (const e of history) {
    const key = `${e.entityType}\u0000${e.entityId}`;
    if (e.start <= killedAt) {
      const prev = lastBefore.get(key);
      if (!prev || e.start > prev.start) lastBefore.set(key, e);
    } else {
      const prev = firstAfter.get(key);
      if (!prev || e.start < prev.start) firstAfter.set(key, e);
    }
  }
  const resumes: number[] = [];
  for (const [key, last] of lastBefore) {
    const next = firstAfter.get(key);
    if (last.node === victim && next) resumes.push(next.start - killedAt);
  }
  return resumes;
}

/** Share of `entities` each node completed at least one job of, and share of all completed jobs it ran. */
export function nodeShares(history: readonly JobExecution[], nodeIds: readonly string[], entities: number): SpreadResult['perNode'] {
  const completed = history.filter((e) => e.outcome === 'completed');
  const perNode: SpreadResult['perNode'] = {};
  for (const id of nodeIds) {
    const mine = completed.filter((e) => e.node === id);
    const touched = new Set(mine.map((e) => `${e.entityType}\u0000${e.entityId}`)).size;
    perNode[id] = {
      entities: touched,
      jobs: mine.length,
      entityShare: round(touched / entities, 3),
      jobShare: round(mine.length / Math.max(1, completed.length), 3),
    };
  }
  return perNode;
}

/**
 * Waits for every enqueued job to complete; the error message when some did not within `timeoutMs` (the run's
 * figures are still computed: the jobs left count as lost).
 */
async function drained(run: RunDir, timeoutMs: number): Promise<string | undefined> {
  try {
    await waitForDrain(run, { timeoutMs });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export interface NodeKillResult {
  killedNode: string;
  /** Entities the killed node was serving (its last start before the kill) that still had jobs to run. */
  entities: number;
  /** Kill → first job start of each of those entities afterwards, ms. */
  resume: Distribution;
  targetMs: number;
  lost: number;
  fifoViolations: number;
  historyOk: boolean;
  summary: string;
  /** Set when not every job completed within the drain timeout. */
  drainError?: string;
}

/**
 * P5: 3 nodes serve `entities` × `jobsPerEntity` jobs of `jobMs`; once the busiest node has started jobs of
 * `minEntitiesOnVictim` entities, it is SIGKILLed (not restarted). Every entity it was serving must resume on the
 * other nodes; none of the jobs may be lost.
 */
export async function nodeKill(
  redisUrl: string,
  t: ClusterTimings,
  size: { entities: number; jobsPerEntity: number; jobMs: number; drainTimeoutMs: number },
): Promise<NodeKillResult> {
  return withCluster('bench-p5', redisUrl, (run) => nodeSettings(run, t, size.jobMs), async (cluster, run) => {
    const producing = runProducers({
      run,
      redisUrl,
      producers: 1,
      entities: size.entities,
      jobsPerEntity: size.jobsPerEntity,
      settings: { keyPrefix: nodeSettings(run, t, size.jobMs).keyPrefix },
      timeoutMs: size.drainTimeoutMs,
    });
    // Wait until the work is well under way, then kill the node serving the most entities.
    const wanted = Math.max(3, Math.floor(size.entities / 10));
    const deadline = Date.now() + size.drainTimeoutMs;
    let victim: string | undefined;
    while (!victim) {
      if (Date.now() > deadline) throw new Error(`P5: no node started jobs of ${wanted} entities within ${size.drainTimeoutMs} ms`);
      await sleep(100);
      const byNode = [...histories(cluster, run)].map(([id, h]) => [id, new Set(h.map((e) => e.entityId)).size] as const).sort((a, b) => b[1] - a[1]);
      if (byNode[0]![1] >= wanted) victim = byNode[0]![0];
    }
    const killedAt = Date.now();
    cluster.node(victim).kill('SIGKILL');
    await cluster.node(victim).waitExit(5000);
    await producing;
    const drainError = await drained(run, size.drainTimeoutMs);
    const result = collectRun(run);
    const resumes = resumeAfterKill(result.history, killedAt, victim);
    return {
      killedNode: victim,
      entities: resumes.length,
      resume: distribution(resumes),
      targetMs: t.heartbeatTtlMs + 1000,
      lost: result.check.noLost.stats.lost,
      fifoViolations: result.check.fifo.violations.length,
      historyOk: result.ok,
      summary: result.summary,
      ...(drainError === undefined ? {} : { drainError }),
    };
  });
}

export interface SpreadResult {
  entities: number;
  jobs: number;
  perNode: Record<string, { entityShare: number; jobShare: number; entities: number; jobs: number }>;
  minEntityShare: number;
  minJobShare: number;
  target: number;
  historyOk: boolean;
  summary: string;
  /** Set when not every job completed within the drain timeout (shares are of the jobs that did). */
  drainError?: string;
}

/**
 * P7: 3 nodes, `entities` entities fed by 3 rate-limited producers (sustained load, interleaved over the entities).
 * Share of a node = distinct entities it completed a job of ÷ all entities, and its completed jobs ÷ all.
 */
export async function spread(
  redisUrl: string,
  t: ClusterTimings,
  size: { entities: number; jobsPerEntity: number; jobMs: number; addsPerSecond: number; drainTimeoutMs: number },
): Promise<SpreadResult> {
  return withCluster('bench-p7', redisUrl, (run) => nodeSettings(run, t, size.jobMs), async (cluster, run) => {
    const producers = 3;
    await runProducers({
      run,
      redisUrl,
      producers,
      entities: size.entities,
      jobsPerEntity: size.jobsPerEntity,
      settings: { keyPrefix: nodeSettings(run, t, size.jobMs).keyPrefix, ratePerSecond: Math.max(1, Math.round(size.addsPerSecond / producers)) },
      timeoutMs: size.drainTimeoutMs,
    });
    const drainError = await drained(run, size.drainTimeoutMs);
    const result = collectRun(run);
    const perNode = nodeShares(result.history, cluster.nodes.map((n) => n.id), size.entities);
    const shares = Object.values(perNode);
    return {
      entities: size.entities,
      jobs: Object.values(perNode).reduce((n, x) => n + x.jobs, 0),
      perNode,
      minEntityShare: Math.min(...shares.map((s) => s.entityShare)),
      minJobShare: Math.min(...shares.map((s) => s.jobShare)),
      target: 0.2,
      historyOk: result.ok,
      summary: result.summary,
      ...(drainError === undefined ? {} : { drainError }),
    };
  });
}
