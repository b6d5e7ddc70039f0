import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkHistory, getFreePort, readJsonlHistory, startRedisServer, type JobExecution } from '@nestjs/atomic-queues/testing';
import { startCluster, type ClusterLauncher } from '../toolkit/cluster/launcher.js';
import { makeRunDir } from '../toolkit/cluster/run-dir.js';
import { analyzeLoad, type ProducedJob } from './lib/analysis.js';
import { checkOutcomes } from './lib/checks.js';
import { parseDriverArgs, producerCount, splitEvenly, type DriverOptions } from './lib/driver-options.js';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { CompletedJobsCounter } from '../toolkit/progress/completed-jobs.js';
import { ProgressReporter } from '../toolkit/progress/progress.js';
import { rssOfPid, sampleConnections } from '../toolkit/sampling/redis-clients.js';
import { reportHtml, reportText, reportViolations, type LoadReport, type NodeFigures } from './lib/report.js';
import { evaluateThresholds, limitsFor } from './lib/scenarios.js';
import { entitySliceProducer, hotEntityProducer, runProducer, toEnqueued } from './producer.js';

/**
 * `npm run load [-- --profile smoke --entities N --rate N --duration S --nodes N]`: starts a private redis-server
 * and an N-node cluster of the compiled example app, runs the many-entities (constant rate) and hot-entity
 * (per-producer iterations) phases with autocannon, waits for the drain, checks the merged job history (lost,
 * unexpected, FIFO, overlap), and writes load/results/load-<run>.{json,html} (+ load-latest.*).
 * Exit code 1 on any violation or failed threshold.
 */
/** Set while a run shows its progress line; log lines then go through it. */
let progress: ProgressReporter | undefined;
const log = (s: string) => (progress ? progress.log(`[load] ${s}`) : console.log(`[load] ${s}`));

async function heapUsed(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { memory?: { heapUsed?: number } }).memory?.heapUsed;
  } catch {
    return undefined;
  }
}

/** Redis connections (CLIENT LIST attributed to node pids), RSS and heap of every node, right now. */
async function sampleNodes(cluster: ClusterLauncher, urls: readonly string[], redisUrl: string): Promise<{ nodes: NodeFigures[]; total: number }> {
  const { groups, total } = await sampleConnections(redisUrl, cluster.nodes.map((n) => ({ label: n.id, pid: n.pid })), 'aq-load-admin');
  const heaps = await Promise.all(urls.map(heapUsed));
  const nodes = cluster.nodes.map((n, i) => {
    const g = groups.find((x) => x.owner === n.id);
    return { id: n.id, pid: n.pid, rssBytes: rssOfPid(n.pid), heapUsedBytes: heaps[i], redisConnections: g?.total ?? 0, byName: g?.byName ?? {} };
  });
  return { nodes, total };
}

async function drain(historyFiles: string[], produced: readonly ProducedJob[], timeoutS: number): Promise<JobExecution[]> {
  const acked = new Set(produced.filter((p) => p.ackAt !== undefined).map((p) => p.jobId!));
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const history = readJsonlHistory(historyFiles.filter(existsSync), { open: 'running' });
    const done = new Set(history.filter((e) => e.outcome === 'completed').map((e) => e.jobId));
    const missing = [...acked].filter((id) => !done.has(id)).length;
    if (missing === 0) return history;
    if (Date.now() > deadline) {
      log(`drain: ${missing} acknowledged job(s) still not completed after ${timeoutS} s`);
      return history;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function run(opts: DriverOptions): Promise<LoadReport> {
  const entry = resolve('dist/examples/order-processing/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} not found: run "npm run build" first (npm run load does)`);
  const startedAt = new Date().toISOString();
  const runDir = makeRunDir('load', resolve('load/results/runs'));
  const tag = `r${randomBytes(3).toString('hex')}`;
  const redis = await startRedisServer({ args: ['--maxclients', '20000'] });
  let cluster: ClusterLauncher | undefined;
  const release = cleanupOnSignals(async () => {
    await cluster?.stopAll({ graceMs: 0 });
    await redis.stop();
  });
  try {
    const ids = Array.from({ length: opts.nodes }, (_, i) => `node-${i + 1}`);
    const ports = await Promise.all(ids.map(() => getFreePort()));
    log(`run ${runDir.id}: redis ${redis.url}, ${opts.nodes} node(s), logs and histories in ${runDir.path}`);
    cluster = await startCluster({
      entry,
      runDir: runDir.path,
      redisUrl: redis.url,
      env: { AQ_KEY_PREFIX: `aqload${tag}`, AQ_CRON_INTERVAL_MS: opts.cronIntervalMs, AQ_STEP_DELAY_MS: 0 },
      nodes: ids.map((id, i) => ({ id, httpPort: ports[i]!, env: { AQ_HISTORY_FILE: runDir.historyFile(id) } })),
      readyTimeoutMs: 30_000,
    });
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const historyFiles = ids.map((id) => runDir.historyFile(id));
    const completed = new CompletedJobsCounter(historyFiles);
    progress = new ProgressReporter({ label: 'load', total: 3, jobs: () => completed.count() });

    const owners = producerCount(opts);
    const rates = splitEvenly(opts.rate, owners);
    progress.startScenario('many-entities', { expectedMs: opts.durationS * 1000 });
    log(`phase many-entities: ${opts.entities} entities, ${opts.rate} req/s for ${opts.durationS} s over ${owners} serial producers`);
    const sample = new Promise<Awaited<ReturnType<typeof sampleNodes>>>((res, rej) =>
      setTimeout(() => sampleNodes(cluster!, urls, redis.url).then(res, rej), opts.durationS * 800),
    );
    sample.catch(() => undefined); // awaited below; no unhandled rejection if the phase fails first
    const many = await Promise.all(
      rates.map((rate, p) => runProducer({ url: urls[p % urls.length]!, next: entitySliceProducer(`${tag}-e`, opts.entities, owners, p), rate, durationS: opts.durationS, padBytes: opts.padBytes })),
    );
    const atPeak = await sample;
    progress.startScenario('hot-entity');
    log(`phase hot-entity: ${opts.hotVus} producer(s) × ${opts.hotIterations} back-to-back jobs on their own entity`);
    const hot = await Promise.all(
      Array.from({ length: opts.hotVus }, (_, h) =>
        runProducer({ url: urls[h % urls.length]!, next: hotEntityProducer(`${tag}-hot${h}`), amount: opts.hotIterations, padBytes: opts.padBytes }),
      ),
    );
    const runs = [...many, ...hot];
    const produced = runs.flatMap((r) => r.produced);
    const acknowledged = produced.filter((p) => p.ackAt !== undefined).length;
    progress.startScenario('drain', { expectedJobs: Math.max(0, acknowledged - completed.count()) });
    log(`sent ${produced.length} enqueue request(s); draining`);
    await drain(historyFiles, produced, opts.drainTimeoutS);
    progress.stop();
    progress = undefined;
    await cluster.stopAll({ graceMs: 10_000 });
    cluster = undefined;

    const history = readJsonlHistory(historyFiles.filter(existsSync), { onWarning: (m) => log(`history: ${m}`) });
    const result = checkHistory(toEnqueued(produced), history);
    const analysis = analyzeLoad(history, produced);
    const accepted = produced.filter((p) => p.ackAt !== undefined).length;
    const errors = runs.reduce((n, r) => n + r.failures, 0);
    const rejected = produced.filter((p) => p.status !== 0 && p.ackAt === undefined).length;
    const thresholds = evaluateThresholds(
      { p95Ms: analysis.enqueueHttp.p95, p99Ms: analysis.enqueueHttp.p99, rejected, errors, requests: produced.length },
      limitsFor(opts.profile),
    );
    const checks = checkOutcomes(result);
    const report: LoadReport = {
      runId: runDir.id,
      startedAt,
      profile: opts.profile,
      options: { entities: opts.entities, rate: opts.rate, durationS: opts.durationS, nodes: opts.nodes, hotVus: opts.hotVus, hotIterations: opts.hotIterations, padBytes: opts.padBytes },
      enqueue: { requests: produced.length, accepted, rejected, errors },
      analysis,
      thresholds,
      checks,
      nodes: atPeak.nodes,
      redisClientsTotal: atPeak.total,
      ok: false,
    };
    report.ok = reportViolations(report).length === 0;
    return report;
  } finally {
    progress?.stop();
    progress = undefined;
    release();
    await cluster?.stopAll({ graceMs: 0 });
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const opts = parseDriverArgs(process.argv.slice(2));
  const report = await run(opts);
  mkdirSync(opts.outDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const html = reportHtml(report);
  for (const name of [report.runId, 'load-latest']) {
    writeFileSync(join(opts.outDir, `${name}.json`), json);
    writeFileSync(join(opts.outDir, `${name}.html`), html);
  }
  process.stdout.write(reportText(report));
  log(`report: ${join(opts.outDir, `${report.runId}.html`)}`);
  for (const v of reportViolations(report)) log(`VIOLATION ${v}`);
  process.exitCode = report.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
