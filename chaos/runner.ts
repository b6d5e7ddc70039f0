import {
  checkHistory,
  formatHistoryCheck,
  startRedisServer,
  type EnqueuedJob,
  type JobExecution,
  type RedisServerHandle,
} from '@nestjs/atomic-queues/testing';
import { runProducers, startNodeCluster } from '../toolkit/cluster/cluster-run.js';
import type { ClusterLauncher, NodeExit } from '../toolkit/cluster/launcher.js';
import { makeRunDir, waitForDrain, type RunDir } from '../toolkit/cluster/run-dir.js';
import { CompletedJobsCounter } from '../toolkit/progress/completed-jobs.js';
import type { ProgressReporter } from '../toolkit/progress/progress.js';
import { startConnectionSampler, type ConnectionSampler } from './connections.js';
import {
  buildTimeline,
  jobsInFlightDuring,
  nodeShares,
  rejectedWrites,
  staleTokenOverlaps,
  recoveryAfterHeal,
  type ConnectionPeaks,
} from './metrics.js';
import type { Profile } from './profile.js';
import { decideVerdict, type ScenarioResult } from './result.js';
import { scenarioProfile, type FaultWindow, type Scenario } from './scenarios.js';
import { createNodeLinks, removeNodeLinks, type NodeLink } from './toxiproxy/proxies.js';
import type { ToxiproxyServer } from './toxiproxy/server.js';
import {
  chaosNodeSettings,
  chaosProducerSettings,
  jobsPerEntityFor,
  readNodeHistories,
  readRunHistory,
  withoutUnexecutedUnknowns,
  type UnsafeMode,
} from './wiring.js';

/**
 * Runs one chaos scenario end to end: private redis-server, one Toxiproxy link per node, N node processes,
 * a producer under continuous interleaved load, the fault, heal, drain, then the shared checkers over the
 * recorded history.
 */
export interface ChaosSession {
  readonly toxiproxy: ToxiproxyServer;
  readonly profile: Profile;
  readonly nodes: number;
  log(message: string): void;
  /** Told where each scenario's completed jobs are counted (the progress line). */
  readonly progress?: Pick<ProgressReporter, 'countJobs'>;
}

export interface RunSpec {
  /** Row name: the scenario name, or `self-test:<variant>`. */
  name: string;
  title: string;
  /** The fault; none for a self-test that only runs the unsafe configuration under load. */
  scenario?: Scenario;
  /** Self-test: the configuration is unsafe and the checks must report violations. */
  unsafe?: UnsafeMode;
  /** Redis args: AOF for the Redis restart scenario so its data survives the SIGKILL. */
  redisArgs?: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PRODUCERS = 2;
const LOAD_SLACK_MS = 2000;
const NODE_INDEX_TARGET = 1; // the faulted node: node-2 (neither the first nor the last started)

/** Planned length of the fault window, used to size the producer's load. */
export function plannedWindowMs(profile: Profile, scenario?: Scenario): number {
  return scenario ? scenario.windowMs(profile) : profile.heartbeatTtlMs;
}

export async function runScenario(session: ChaosSession, spec: RunSpec): Promise<ScenarioResult> {
  const profile = scenarioProfile(session.profile, spec.scenario);
  const began = Date.now();
  const runDir: RunDir = makeRunDir(`chaos-${spec.name.replace(/[^\w.-]/g, '_')}`);
  const nodeIds = Array.from({ length: session.nodes }, (_, i) => `node-${i + 1}`);
  let redis: RedisServerHandle | undefined;
  let links: NodeLink[] = [];
  let cluster: ClusterLauncher | undefined;
  let fault: FaultWindow | undefined;
  let error: string | undefined;
  let drained = false;
  let loadStartedAt = began;
  let sampler: ConnectionSampler | undefined;
  let connections: ConnectionPeaks | undefined;
  const log = (msg: string) => session.log(`[${spec.name}] ${msg}`);

  try {
    redis = await startRedisServer({ args: spec.redisArgs });
    links = await createNodeLinks(session.toxiproxy.client, nodeIds, `127.0.0.1:${redis.port}`);
    const keyPrefix = `chaos-${runDir.id.slice(-6)}`;
    // Slack covers what the plan does not: waiting for a job in flight, node restarts.
    const loadMs = profile.warmupMs + plannedWindowMs(profile, spec.scenario) + profile.afterHealMs + LOAD_SLACK_MS;
    const jobsPerEntity = jobsPerEntityFor(profile, loadMs);
    const completed = new CompletedJobsCounter(runDir.path);
    session.progress?.countJobs(() => completed.count(), profile.entities * jobsPerEntity);
    loadStartedAt = Date.now();
    // Producers reach Redis directly: the load goes on whatever happens to one node's link.
    const producerDone: Promise<void> = runProducers({
      run: runDir,
      redisUrl: redis.url,
      producers: PRODUCERS,
      entities: profile.entities,
      jobsPerEntity,
      settings: chaosProducerSettings(profile, keyPrefix, PRODUCERS),
      timeoutMs: loadMs + 60_000,
    }).then(
      () => undefined,
      (e: Error) => {
        error ??= `producer failed: ${e.message.split('\n')[0]}`;
      },
    );
    // Nodes boot while the producers do (both take seconds): the first jobs wait in their queues.
    cluster = await startNodeCluster({
      run: runDir,
      redisUrl: redis.url,
      nodes: links.map((l) => ({ id: l.nodeId, redisUrl: l.redisUrl })),
      settings: chaosNodeSettings(profile, keyPrefix, spec.unsafe),
      readyTimeoutMs: 30_000,
    });
    log(`redis :${redis.port}, ${nodeIds.length} nodes via toxiproxy, ${profile.entities} entities, run dir ${runDir.path}`);
    sampler = startConnectionSampler(redis.url, nodeIds, `${keyPrefix}:leases`);

    // Producers and nodes boot at their own pace: the warmup counts from the first applied completion.
    const flowing = await waitForFirstCompletion(runDir, 30_000, producerDone);
    if (!flowing) throw new Error('no job completed within 30 s of starting the producers');
    await sleep(profile.warmupMs);
    if (spec.scenario) {
      const target = cluster.nodes[NODE_INDEX_TARGET]!;
      log(`inject ${spec.scenario.name} on ${spec.scenario.targetsNode ? target.id : 'the cluster'}`);
      fault = await spec.scenario.run({
        profile,
        target,
        link: links[NODE_INDEX_TARGET]!,
        redis,
        sleep,
        waitForJobInFlight: (nodeId, timeoutMs) => waitForJobInFlight(runDir, nodeId, timeoutMs),
      });
      log(`healed after ${fault.healedAt - fault.injectedAt} ms: ${fault.details}`);
    } else {
      await sleep(plannedWindowMs(profile));
    }
    await producerDone;
    drained = await waitForDrain(runDir, { timeoutMs: profile.drainTimeoutMs }).then(
      () => true,
      (e: Error) => {
        log(e.message);
        return false;
      },
    );
    // Let late duplicates (stalled re-runs) surface before the history is closed.
    await sleep(Math.min(1000, profile.stalledIntervalMs));
  } catch (e) {
    error ??= (e as Error).message.split('\n').slice(0, 3).join(' | ');
    log(`harness error: ${error}`);
  } finally {
    connections = await sampler?.stop();
    const exits: NodeExit[] = (await cluster?.stopAll({ graceMs: 5000 }).catch(() => [])) ?? [];
    if (exits.some((x) => x.signal === 'SIGKILL')) log('a node had to be SIGKILLed at the end (graceful stop timed out)');
    await removeNodeLinks(links);
    await redis?.stop().catch(() => undefined);
  }

  const endedAt = Date.now();
  const { enqueued, history } = readRunHistory(runDir);
  return evaluate({ spec, profile, runDir, enqueued, history, fault, loadStartedAt, endedAt, drained, error, began, connections });
}

async function waitForFirstCompletion(runDir: RunDir, timeoutMs: number, producerDone: Promise<unknown>): Promise<boolean> {
  let producersEnded = false;
  void producerDone.then(() => (producersEnded = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const history = readNodeHistories(runDir);
    if (history.some((e) => e.outcome === 'completed')) return true;
    if (producersEnded && history.length === 0) return false;
    await sleep(50);
  }
  return false;
}

async function waitForJobInFlight(runDir: RunDir, nodeId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (readNodeHistories(runDir, [nodeId]).some((e) => e.end === undefined)) return true;
    await sleep(20);
  }
  return false;
}

export interface EvaluateInput {
  spec: RunSpec;
  profile: Profile;
  runDir: RunDir;
  enqueued: EnqueuedJob[];
  history: JobExecution[];
  fault?: FaultWindow;
  loadStartedAt: number;
  endedAt: number;
  drained: boolean;
  error?: string;
  began: number;
  /** Peak Redis connections per node during the run (the runner's CLIENT LIST sampler). */
  connections?: ConnectionPeaks;
}

/**
 * Turns a drained run into a report row (pure): the shared checkers with duplicates allowed for jobs in flight
 * during the fault window and overlaps counted only among applied executions, plus timeline and recovery.
 */
export function evaluate(input: EvaluateInput): ScenarioResult {
  const { spec, profile, enqueued, history, fault } = input;
  const allowed = fault ? jobsInFlightDuring(history, fault.injectedAt, fault.healedAt) : new Set<string>();
  const check = checkHistory(withoutUnexecutedUnknowns(enqueued, history), history, {
    // Judged by their effects: a node paused right after its write landed still "runs" that job until SIGCONT.
    fifo: { endAtEffect: true },
    singleWorker: { onlyApplied: true, endAtEffect: true },
    noLost: { duplicatesAllowedFor: allowed },
  });
  const recovery = fault ? recoveryAfterHeal(enqueued, history, fault.healedAt) : undefined;
  // The timeline starts with the load: the first enqueue (producers boot after being spawned).
  const firstAdd = enqueued.reduce((min, j) => Math.min(min, j.at ?? Infinity), Infinity);
  const startedAt = Number.isFinite(firstAdd) ? Math.min(firstAdd, fault?.injectedAt ?? firstAdd) : input.loadStartedAt;
  const counts = {
    expectViolations: spec.unsafe !== undefined,
    lost: check.noLost.stats.lost,
    unexpected: check.noLost.stats.unexpected,
    duplicates: check.noLost.stats.duplicated,
    duplicatesAllowed: check.noLost.stats.duplicatedAllowed,
    fifoViolations: check.fifo.violations.length,
    overlaps: check.singleWorker.stats.overlappingPairs,
    drained: input.drained,
    error: input.error,
  };
  const { verdict, reasons } = decideVerdict(counts);
  if (recovery && recovery.unrecovered > 0) reasons.push(`${recovery.unrecovered} entities made no progress after the heal`);
  const maxConnections = spec.scenario?.maxConnectionsPerNode;
  const overBudget = Object.entries(input.connections?.peakPerNode ?? {}).filter(([, n]) => maxConnections !== undefined && n > maxConnections);
  if (maxConnections !== undefined && overBudget.length > 0) {
    reasons.push(`Redis connections above ${maxConnections} per node: ${overBudget.map(([node, n]) => `${node} ${n}`).join(', ')}`);
  }
  const failed = verdict === 'FAIL' || (!spec.unsafe && overBudget.length > 0);
  return {
    scenario: spec.name,
    title: spec.title,
    ...counts,
    target: fault && spec.scenario?.targetsNode ? `node-${NODE_INDEX_TARGET + 1}` : undefined,
    fault,
    startedAt,
    endedAt: input.endedAt,
    jobs: enqueued.length,
    executions: history.length,
    completed: check.noLost.stats.completed,
    rejectedWrites: rejectedWrites(history),
    staleTokenOverlaps: staleTokenOverlaps(check.singleWorker),
    dataLossAllowedByConfig: 0,
    recoveryMs: recovery ? recovery.ms : null,
    timeline: { bucketMs: profile.bucketMs, buckets: buildTimeline(history, startedAt, input.endedAt, profile.bucketMs, enqueued) },
    samples: check.ok ? [] : formatHistoryCheck(check, 5).split('\n').slice(0, 20),
    entities: profile.entities,
    perNode: nodeShares(history),
    connections: input.connections,
    verdict: failed ? 'FAIL' : verdict,
    reasons,
    runDir: input.runDir.path,
    durationMs: input.endedAt - input.began,
  };
}
