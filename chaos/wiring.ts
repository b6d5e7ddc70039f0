import { existsSync } from 'node:fs';
import { readEnqueueLog, readJsonlHistory, type EnqueuedJob, type JobExecution } from '@nestjs/atomic-queues/testing';
import { ENQUEUE_FILE_RE, HISTORY_FILE_RE, filesMatching, type RunDir } from '../toolkit/cluster/run-dir.js';
import { DEFAULT_ENTITY_TYPE, type NodeAppEnvInput, type ProducerEnvInput } from '../toolkit/cluster/settings.js';
import type { Profile } from './profile.js';

/**
 * How the chaos runner configures the cluster toolkit's node app and producers for a profile, and reads a
 * run dir back. docker-compose.chaos.yml uses the same settings (checked by test/chaos/compose.test.ts).
 */
export type UnsafeMode = 'concurrency-2';

export const ENTITY_TYPE = DEFAULT_ENTITY_TYPE;

/** Node app settings of a chaos run: the module's safe defaults plus the fencing effect sink. */
export function chaosNodeSettings(profile: Profile, keyPrefix: string, unsafe?: UnsafeMode): NodeAppEnvInput {
  const safe: NodeAppEnvInput = {
    keyPrefix,
    entityType: ENTITY_TYPE,
    heartbeatTtlMs: profile.heartbeatTtlMs,
    heartbeatIntervalMs: profile.heartbeatIntervalMs,
    cronIntervalMs: profile.cronIntervalMs,
    stalledIntervalMs: profile.stalledIntervalMs,
    lockDurationMs: profile.lockDurationMs,
    shutdownTimeoutMs: profile.drainTimeoutMs,
    jobMs: profile.jobMs,
    workerConcurrency: 1,
    fencing: true,
  };
  switch (unsafe) {
    case undefined:
      return safe;
    case 'concurrency-2': {
      // Two jobs of one entity at once, and no fencing sink to serialize their effects. Producers interleave the
      // entities evenly, so jobs shorter than an entity's inter-arrival time would never queue up behind each
      // other and the unsafe setting could go unnoticed by chance: make every entity build a backlog.
      const perEntityInterArrivalMs = (profile.entities * 1000) / profile.jobsPerSecond;
      return { ...safe, workerConcurrency: 2, fencing: false, jobMs: Math.max(profile.jobMs, Math.ceil(1.5 * perEntityInterArrivalMs)) };
    }
  }
}

/** Producer settings: interleaved entities, failed adds recorded as 'unknown' (Jepsen :info) instead of aborting. */
export function chaosProducerSettings(profile: Profile, keyPrefix: string, producers: number): ProducerEnvInput {
  return {
    keyPrefix,
    entityType: ENTITY_TYPE,
    ratePerSecond: Math.max(1, Math.round(profile.jobsPerSecond / producers)),
    attempts: 1,
    recordFailedAdds: true,
  };
}

/** Jobs per entity so that the producers keep adding for about `loadMs`. */
export function jobsPerEntityFor(profile: Profile, loadMs: number): number {
  return Math.max(2, Math.ceil((profile.jobsPerSecond * loadMs) / 1000 / profile.entities));
}

/** Merged history of the run dir's nodes (only `nodeIds`' files when given); no file yet reads as empty. */
export function readNodeHistories(run: RunDir, nodeIds?: readonly string[]): JobExecution[] {
  const files = nodeIds ? nodeIds.map((id) => run.historyFile(id)).filter((f) => existsSync(f)) : filesMatching(run.path, HISTORY_FILE_RE);
  return files.length ? readJsonlHistory(files) : [];
}

/** Reads the enqueue logs and node histories of a run dir. */
export function readRunHistory(run: RunDir): { enqueued: EnqueuedJob[]; history: JobExecution[] } {
  const enqueueFiles = filesMatching(run.path, ENQUEUE_FILE_RE);
  return { enqueued: enqueueFiles.length ? readEnqueueLog(enqueueFiles) : [], history: readNodeHistories(run) };
}

/**
 * Drops enqueues with status 'unknown' (the add failed with an unknown outcome) that never ran: they may never
 * have reached Redis, so later jobs of their entity running without them is not a FIFO skip. Unknown adds that
 * did run stay (they rank in FIFO order and count as `recovered`).
 */
export function withoutUnexecutedUnknowns(enqueued: readonly EnqueuedJob[], history: readonly JobExecution[]): EnqueuedJob[] {
  const ran = new Set(history.map((e) => `${e.entityType}/${e.entityId}#${e.jobId}`));
  return enqueued.filter((j) => j.status !== 'unknown' || ran.has(`${j.entityType}/${j.entityId}#${j.jobId}`));
}
