import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { AtomicQueuesModule, QueueManagerService, WorkerManagerService, entityQueueName, type TelemetryConfig } from '@nestjs/atomic-queues';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { round } from '../toolkit/report/stats.js';
import { countdown, intFlag, pool, throughput } from './common.js';

/**
 * `npm run build && node dist/bench/telemetry-overhead.js [--entities n] [--jobs n] [--rounds n]`: what the
 * module's OpenTelemetry telemetry costs. The same workload (`entities` × `jobs` trivial jobs, one worker per
 * entity, all added first) runs with telemetry off and on (an SDK keeping every span in memory and a metric reader),
 * alternately `rounds` times each on a private redis-server; prints one JSON line with the best round of each
 * (jobs/s from the first add to the last completion, this process's CPU ms per job), the lowest CPU ms per job of
 * each mode and their difference (what telemetry adds per job), and the spans recorded per round.
 */
async function run(redisUrl: string, keyPrefix: string, entities: number, jobs: number, telemetry?: TelemetryConfig) {
  const app = await NestFactory.createApplicationContext(
    AtomicQueuesModule.forRoot({ redis: { url: redisUrl }, keyPrefix, queueDefaults: { defaultJobOptions: { removeOnComplete: true } }, ...(telemetry ? { telemetry } : {}) }),
    { logger: ['error'] },
  );
  await app.init();
  try {
    const queues = app.get(QueueManagerService);
    const workers = app.get(WorkerManagerService);
    const total = entities * jobs;
    const done = countdown(total, 300_000, 'jobs completed');
    const ids = Array.from({ length: entities }, (_, i) => `e${i}`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await pool(ids, 16, async (id) => {
      for (let j = 0; j < jobs; j++) await queues.addEntityJob('bench', id, 'step', { j });
    });
    await pool(ids, 16, async (id) => {
      await workers.createWorker({ workerName: `bench-${id}-w`, queueName: entityQueueName('bench', id), processor: async () => done.hit() });
    });
    await done.done;
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { ...throughput(total, ms), cpuMsPerJob: round((used.user + used.system) / 1000 / total, 3) };
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  parseArgs({ options: { entities: { type: 'string' }, jobs: { type: 'string' }, rounds: { type: 'string' } } }); // rejects unknown flags
  const argv = process.argv.slice(2);
  const entities = intFlag(argv, '--entities', 50, 5000);
  const jobs = intFlag(argv, '--jobs', 40, 10_000);
  const rounds = intFlag(argv, '--rounds', 3, 20);
  const redis = await startRedisServer();
  const release = cleanupOnSignals(() => redis.stop());
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })] });
  const best = { off: undefined as undefined | Awaited<ReturnType<typeof run>>, on: undefined as undefined | Awaited<ReturnType<typeof run>> };
  const minCpuMsPerJob = { off: Infinity, on: Infinity };
  let spansRecorded = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      for (const mode of ['off', 'on'] as const) {
        spans.reset();
        const result = await run(redis.url, `aqtel${r}${mode}`, entities, jobs, mode === 'on' ? { tracerProvider, meterProvider } : undefined);
        if (mode === 'on') spansRecorded = spans.getFinishedSpans().length;
        if (!best[mode] || result.jobsPerS > best[mode]!.jobsPerS) best[mode] = result;
        minCpuMsPerJob[mode] = Math.min(minCpuMsPerJob[mode], result.cpuMsPerJob);
      }
    }
    console.log(
      JSON.stringify({
        entities,
        jobsPerEntity: jobs,
        rounds,
        off: best.off,
        on: best.on,
        // one enqueue + one attempt span per job in the last "on" round
        spansPerRound: spansRecorded,
        slowdownPercent: round((1 - best.on!.jobsPerS / best.off!.jobsPerS) * 100, 1),
        // CPU is steadier than wall time on a shared machine: the lowest of the rounds, and what telemetry adds
        minCpuMsPerJob,
        addedCpuMsPerJob: round(minCpuMsPerJob.on - minCpuMsPerJob.off, 3),
      }),
    );
  } finally {
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
    await redis.stop();
    release();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
