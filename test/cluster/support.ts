import { waitFor } from '../support/wait.js';
import { inject, onTestFinished } from 'vitest';
import { startNodeCluster, type NodeClusterOptions } from '../../toolkit/cluster/cluster-run.js';
import type { ClusterLauncher } from '../../toolkit/cluster/launcher.js';
import { makeRunDir, type RunDir } from '../../toolkit/cluster/run-dir.js';
import type { NodeAppEnvInput } from '../../toolkit/cluster/settings.js';

/**
 * Short timings of the multi-process scenarios (heartbeat TTL 2 s, cron 250 ms, jobs 5 ms). The BullMQ job lock is
 * a little longer than the heartbeat: on a loaded 2-core machine event-loop stalls of ~1 s were seen, and a lock
 * lost that way makes BullMQ re-run a job that had completed (counted as an allowed duplicate, not a violation).
 */
export const FAST: NodeAppEnvInput = {
  heartbeatTtlMs: 2000,
  heartbeatIntervalMs: 500,
  cronIntervalMs: 250,
  stalledIntervalMs: 500,
  lockDurationMs: 2500,
  shutdownTimeoutMs: 8000,
  jobMs: 5,
};

export interface Scenario {
  run: RunDir;
  redisUrl: string;
  /** Unique module keyPrefix of the scenario (isolates it on the shared test Redis; nothing is flushed). */
  keyPrefix: string;
}

export function scenario(name: string): Scenario {
  const run = makeRunDir(name);
  return { run, redisUrl: inject('redisUrl'), keyPrefix: `t-${run.id.replace(/[^\w-]/g, '')}` };
}

/** startNodeCluster, stopped when the test ends if it left it running (failure paths); SIGKILL, the history is already on disk. */
export async function startTestCluster(options: NodeClusterOptions): Promise<ClusterLauncher> {
  const cluster = await startNodeCluster(options);
  onTestFinished(async () => {
    await cluster.stopAll({ graceMs: 0 });
  });
  return cluster;
}

/** Polls `check` until it holds; rejects naming `what` after the deadline (multi-process tests only). */
export const until = (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => waitFor(check, timeoutMs, what, 25);

/** `main`, but rejected as soon as `watched` rejects (e.g. a producer process failing while we wait for a line). */
export function unlessFails<T>(main: Promise<T>, watched: Promise<unknown>): Promise<T> {
  main.catch(() => undefined); // if `watched` wins, a later rejection of `main` is not unhandled
  return Promise.race([main, watched.then(() => main)]);
}
