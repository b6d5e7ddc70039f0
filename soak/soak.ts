import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { entityQueueName } from '@nestjs/atomic-queues';
import { startRedisServer, type RedisServerHandle } from '@nestjs/atomic-queues/testing';
import { runProducers, startNodeCluster } from '../toolkit/cluster/cluster-run.js';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import type { ClusterLauncher } from '../toolkit/cluster/launcher.js';
import { DEFAULT_ENTITY_TYPE, entityIdOf } from '../toolkit/cluster/settings.js';
import { collectRun, makeRunDir, waitForDrain, type RunDir } from '../toolkit/cluster/run-dir.js';
import { CompletedJobsCounter } from '../toolkit/progress/completed-jobs.js';
import { ProgressReporter } from '../toolkit/progress/progress.js';
import { countPerBucket, distribution } from '../toolkit/report/stats.js';
import { rssOfPid, sampleConnections } from '../toolkit/sampling/redis-clients.js';
import { sampleEventStreams } from '../toolkit/sampling/event-streams.js';
import { sampleRedisServer } from '../toolkit/sampling/redis-info.js';
import { judgeSeries, soakSeries, type SoakSample } from './flatness.js';
import { parseSoakArgs, type SoakOptions } from './options.js';
import { soakText, soakViolations, type SoakReport } from './report.js';

/**
 * `npm run soak [-- --minutes N --entities N …]` (not in CI): a private redis-server and N node processes of the
 * toolkit's node app; producer processes add jobs round-robin over every entity at a constant rate for the whole
 * run (removeOnComplete, as a long-running deployment would). Every --sample-every seconds: each node's RSS and
 * Redis connections, Redis used_memory and DBSIZE. After the load phase: drain, graceful stop, the shared checkers
 * over the merged histories (lost, unexpected, FIFO, overlap), and a flatness verdict per series after the warm-up.
 * Writes soak/results/<run>.json (+ soak-latest.json). Exit 1 on any violation, 2 on a setup error.
 */
/** Set while a run shows its progress line; log lines then go through it. */
let progress: ProgressReporter | undefined;
const log = (s: string) => (progress ? progress.log(`[soak] ${s}`) : console.log(`[soak] ${s}`));

/** Entities whose BullMQ event streams the sampler reads (spread evenly over the entities). */
const STREAM_SAMPLE = 32;

/** The event-stream keys of STREAM_SAMPLE entities spread over `entities`. */
function sampledStreamKeys(keyPrefix: string, entities: number): string[] {
  const count = Math.min(STREAM_SAMPLE, entities);
  return Array.from({ length: count }, (_, i) => `${keyPrefix}:${entityQueueName(DEFAULT_ENTITY_TYPE, entityIdOf(Math.floor((i * entities) / count)))}:events`);
}

/** Every `everyMs` until stopped: one sample (a failed sample is logged and skipped, never fatal). */
function startSampler(cluster: ClusterLauncher, redisUrl: string, admin: Redis, streamKeys: readonly string[], loadStart: number, everyMs: number) {
  const samples: SoakSample[] = [];
  let stopped = false;
  let wake: () => void = () => undefined;
  const take = async (): Promise<void> => {
    const atMs = Date.now() - loadStart;
    const nodes = cluster.nodes.map((n) => ({ id: n.id, pid: n.pid, running: n.running }));
    const [conns, redis, eventStreams] = await Promise.all([
      sampleConnections(redisUrl, nodes.filter((n) => n.running).map((n) => ({ label: n.id, pid: n.pid })), 'aq-soak-sampler'),
      sampleRedisServer(admin),
      sampleEventStreams(admin, streamKeys),
    ]);
    samples.push({
      atMs,
      nodes: nodes.map((n) => {
        const rssBytes = n.running ? rssOfPid(n.pid) : undefined;
        const redisConnections = conns.groups.find((g) => g.owner === n.id)?.total ?? 0;
        return { ...n, ...(rssBytes === undefined ? {} : { rssBytes }), redisConnections };
      }),
      redis,
      eventStreams,
    });
  };
  const loop = (async () => {
    while (!stopped) {
      await take().catch((error: unknown) => log(`sample failed: ${(error as Error).message}`));
      const last = samples[samples.length - 1];
      if (last && samples.length % 6 === 1) {
        const rss = last.nodes.map((n) => `${n.id} ${((n.rssBytes ?? 0) / 1048576).toFixed(0)}M/${n.redisConnections}c`).join(' ');
        const streams = last.eventStreams ? `, event streams ${last.eventStreams.trimmed}/${last.eventStreams.sampled} trimmed (median length ${last.eventStreams.medianLength})` : '';
        log(`t=${Math.round(last.atMs / 1000)} s: redis ${(last.redis.usedMemoryBytes / 1048576).toFixed(1)} MiB, ${last.redis.keys} keys, ${last.redis.connectedClients} clients${streams}; nodes ${rss}`);
      }
      const next = loadStart + (samples.length + 1) * everyMs - Date.now();
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(0, next));
      });
    }
  })();
  return {
    samples,
    async stop(): Promise<void> {
      stopped = true;
      wake();
      await loop;
    },
  };
}

function analyse(opts: SoakOptions, run: RunDir, loadStart: number, loadEnd: number, samples: SoakSample[]): Omit<SoakReport, 'startedAt' | 'drained' | 'drainError' | 'nodeExits' | 'ok'> {
  const result = collectRun(run);
  const { noLost, fifo, singleWorker } = result.check;
  const acked = result.enqueued.filter((j) => j.status !== 'unknown');
  const firstStart = new Map<string, number>();
  for (const e of result.history) {
    const t = firstStart.get(e.jobId);
    if (t === undefined || e.start < t) firstStart.set(e.jobId, e.start);
  }
  const waits = acked.flatMap((j) => {
    const start = firstStart.get(j.jobId);
    return start === undefined || j.at === undefined ? [] : [Math.max(0, start - j.at)];
  });
  const completed = result.history.filter((e) => e.outcome === 'completed');
  const countedDuplicates = noLost.duplicated.filter((d) => noLost.violations.includes(d));
  const loadPhaseS = (loadEnd - loadStart) / 1000;
  const peakConnections: Record<string, number> = {};
  for (const s of samples) for (const n of s.nodes) peakConnections[n.id] = Math.max(peakConnections[n.id] ?? 0, n.redisConnections);
  return {
    runId: run.id,
    options: opts,
    runDir: run.path,
    load: {
      enqueued: acked.length,
      ratePerS: acked.length / loadPhaseS,
      loadPhaseS,
      completed: completed.length,
      entities: new Set(acked.map((j) => j.entityId)).size,
      enqueueToStartMs: distribution(waits),
      completedPerMinute: countPerBucket(completed.map((e) => e.end!).filter((t) => t !== undefined), loadStart, 60_000),
    },
    checks: {
      lost: noLost.lost.length,
      unexpected: noLost.unexpected.length,
      fifo: fifo.violations.length,
      overlap: singleWorker.violations.length,
      duplicated: countedDuplicates.length,
      examples: [...noLost.lost, ...noLost.unexpected, ...fifo.violations, ...singleWorker.violations].slice(0, 5).map((v) => v.message),
    },
    peak: {
      redisClients: Math.max(0, ...samples.map((s) => s.redis.connectedClients)),
      nodeConnections: peakConnections,
      keys: Math.max(0, ...samples.map((s) => s.redis.keys)),
      usedMemoryBytes: Math.max(0, ...samples.map((s) => s.redis.usedMemoryBytes)),
    },
    series: soakSeries(samples, opts.warmupMinutes * 60_000).map((s) => judgeSeries(s, opts.maxGrowthPct)),
    samples,
  };
}

async function soak(opts: SoakOptions): Promise<SoakReport> {
  const startedAt = new Date().toISOString();
  const run = makeRunDir('soak');
  const redis: RedisServerHandle = await startRedisServer({ args: opts.maxClients === undefined ? [] : ['--maxclients', String(opts.maxClients)] });
  let cluster: ClusterLauncher | undefined;
  let admin: Redis | undefined;
  const release = cleanupOnSignals(async () => {
    await cluster?.stopAll({ graceMs: 0 });
    await redis.stop();
  });
  try {
    const keyPrefix = 'soak';
    log(`run ${run.id}: redis ${redis.url}; logs, histories and enqueue logs in ${run.path}`);
    cluster = await startNodeCluster({
      run,
      redisUrl: redis.url,
      nodes: opts.nodes,
      // the module's defaults for the worker timings (not the chaos suite's short ones)
      settings: { keyPrefix, jobMs: opts.jobMs, cronIntervalMs: opts.cronIntervalMs, heartbeatTtlMs: 3000, heartbeatIntervalMs: 1000, stalledIntervalMs: 1000, lockDurationMs: 30_000 },
      readyTimeoutMs: 60_000,
    });
    admin = new Redis(redis.url, { connectionName: 'aq-soak-admin' });
    const loadMs = opts.minutes * 60_000;
    log(`${opts.nodes} node(s) ready; load phase: ${opts.rate} adds/s over ${opts.entities} entities for ${opts.minutes} min (${opts.producers} producer(s))`);
    const completed = new CompletedJobsCounter(run.path);
    progress = new ProgressReporter({ label: 'soak', total: 2, jobs: () => completed.count() });
    progress.startScenario('load', { expectedMs: loadMs });
    const loadStart = Date.now();
    const sampler = startSampler(cluster, redis.url, admin, sampledStreamKeys(keyPrefix, opts.entities), loadStart, opts.sampleEveryS * 1000);
    try {
      await runProducers({
        run,
        redisUrl: redis.url,
        producers: opts.producers,
        entities: opts.entities,
        // more than the run can add: the producers stop on AQ_DURATION_MS
        jobsPerEntity: Math.ceil((opts.rate * loadMs) / 1000 / opts.entities) + 1,
        settings: { keyPrefix, ratePerSecond: opts.rate / opts.producers, durationMs: loadMs, removeOnComplete: true },
        timeoutMs: loadMs + 120_000,
      });
    } finally {
      await sampler.stop();
    }
    const loadEnd = Date.now();
    progress.startScenario('drain');
    log(`load phase over after ${Math.round((loadEnd - loadStart) / 1000)} s; draining (up to ${opts.drainTimeoutS} s)`);
    let drained = true;
    let drainError: string | undefined;
    await waitForDrain(run, { timeoutMs: opts.drainTimeoutS * 1000, pollMs: 2000 }).catch((error: unknown) => {
      drained = false;
      drainError = (error as Error).message.slice(0, 500);
    });
    progress.stop();
    progress = undefined;
    const nodeExits = cluster.nodes.filter((n) => !n.running).map((n) => `${n.id} (pid ${n.pid}, see ${n.stderrPath})`);
    await cluster.stopAll({ graceMs: 15_000 });
    cluster = undefined;
    log('nodes stopped; checking the merged histories');
    const report: SoakReport = { ...analyse(opts, run, loadStart, loadEnd, sampler.samples), startedAt, drained, ...(drainError ? { drainError } : {}), nodeExits, ok: false };
    report.ok = soakViolations(report).length === 0;
    return report;
  } finally {
    progress?.stop();
    progress = undefined;
    release();
    admin?.disconnect();
    await cluster?.stopAll({ graceMs: 0 });
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const opts = parseSoakArgs(process.argv.slice(2));
  const report = await soak(opts);
  mkdirSync(opts.outDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  for (const name of [report.runId, 'soak-latest']) writeFileSync(join(opts.outDir, `${name}.json`), json);
  process.stdout.write(soakText(report));
  log(`report: ${join(opts.outDir, `${report.runId}.json`)}`);
  process.exitCode = report.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
