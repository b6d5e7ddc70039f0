import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runProcess, startCluster, type ClusterLauncher, type NodeConfig } from './launcher.js';
import type { RunDir } from './run-dir.js';
import { nodeAppEnv, producerEnv, type NodeAppEnvInput, type ProducerEnvInput } from './settings.js';

/**
 * The cluster toolkit's two programs wired to a run dir: node-app processes (one history file per node) and
 * producer processes (one enqueue log each). Entry points are the compiled files under dist/ (`npm run build`).
 */

/** Compiled sibling of this module: itself when running from dist/, else dist/toolkit/cluster/<file> (tests run the TS source). */
function compiled(file: string): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL(`../../dist/toolkit/cluster/${file}`, here) : new URL(`./${file}`, here);
  return fileURLToPath(url);
}

export const NODE_APP_ENTRY = compiled('node-app.js');
export const PRODUCER_ENTRY = compiled('producer.js');

function assertBuilt(entry: string): void {
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npm run build\` first`);
}

export interface NodeClusterOptions {
  run: RunDir;
  /** Default REDIS_URL (a NodeConfig.redisUrl, e.g. a per-node proxy, overrides it). */
  redisUrl: string;
  nodes: number | NodeConfig[];
  /** Node app settings common to all nodes (keyPrefix, timings, job rules…). */
  settings: NodeAppEnvInput;
  readyTimeoutMs?: number;
  /** Another compiled entry (e.g. an example app) taking the same environment. */
  entry?: string;
}

/** Starts node-app processes writing `history-<nodeId>.jsonl` into the run dir; resolves when all print AQ_READY. */
export function startNodeCluster(options: NodeClusterOptions): Promise<ClusterLauncher> {
  const entry = options.entry ?? NODE_APP_ENTRY;
  assertBuilt(entry);
  const configs: NodeConfig[] = typeof options.nodes === 'number' ? Array.from({ length: options.nodes }, () => ({})) : options.nodes;
  const nodes = configs.map((c, i) => {
    const id = c.id ?? `node-${i + 1}`;
    return { ...c, id, env: { AQ_HISTORY_FILE: options.run.historyFile(id), ...c.env } };
  });
  return startCluster({
    entry,
    runDir: options.run.path,
    redisUrl: options.redisUrl,
    env: nodeAppEnv(options.settings),
    nodes,
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
  });
}

export interface ProducersOptions {
  run: RunDir;
  redisUrl: string;
  /** Number of producer processes; the entities are split between them in contiguous ranges. */
  producers: number;
  /** Total entities (ids `e-${entityOffset}` …). */
  entities: number;
  entityOffset?: number;
  jobsPerEntity: number;
  /** keyPrefix, entityType, attempts, rate… (offset / count / enqueue file are set per producer). */
  settings: Omit<ProducerEnvInput, 'entityOffset' | 'entityCount' | 'jobsPerEntity' | 'enqueueFile'>;
  /** Per producer; default 60 s. */
  timeoutMs?: number;
}

/** Runs the producers in parallel to completion (each writes `enqueue-producer-<i>.jsonl`); rejects if one fails. */
export async function runProducers(options: ProducersOptions): Promise<void> {
  assertBuilt(PRODUCER_ENTRY);
  const { producers, entities } = options;
  if (!Number.isInteger(producers) || producers < 1 || producers > entities) {
    throw new Error(`runProducers: producers must be an integer in [1, entities=${entities}], got ${producers}`);
  }
  const offset = options.entityOffset ?? 0;
  await Promise.all(
    Array.from({ length: producers }, (_, i) => {
      const from = Math.floor((i * entities) / producers);
      const to = Math.floor(((i + 1) * entities) / producers);
      const id = `producer-${i + 1}`;
      return runProcess({
        entry: PRODUCER_ENTRY,
        id,
        runDir: options.run.path,
        redisUrl: options.redisUrl,
        timeoutMs: options.timeoutMs ?? 60_000,
        env: producerEnv({
          ...options.settings,
          entityOffset: offset + from,
          entityCount: to - from,
          jobsPerEntity: options.jobsPerEntity,
          enqueueFile: options.run.enqueueFile(id),
        }),
      });
    }),
  );
}
