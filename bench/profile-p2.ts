import { Session } from 'node:inspector/promises';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { median, round } from '../toolkit/report/stats.js';
import { intFlag } from './common.js';
import { ModuleBench } from './module-bench.js';

/**
 * `npm run bench:profile-p2 [-- --rounds n] [--jobs n] [--many n] [--few n]`: where the module's CPU goes in P2.
 * The same job total (`--jobs`, 20,000) runs on one node over `--many` entities (1,000, P2's shape) and over
 * `--few` (100), alternating, `--rounds` times (3). For the processing part of each run (the jobs are added
 * first) it measures this process's CPU time (user + system, all threads), the time spent in garbage collection
 * (`PerformanceObserver` 'gc' entries, and the scavenges among them) and the bytes allocated (V8's sampling heap
 * profiler, every 32 KiB on average, objects collected since counted too). The difference between the shapes,
 * divided by the difference in entities, is what one entity's activation costs (claim, lease, index, a BullMQ
 * Worker built, started and released); what stays is the per-job cost. Prints one line per run and the medians as JSON. Throughput here is not the bench's (the profilers run).
 */

interface Sample {
  entities: number;
  jobsPerS: number;
  cpuMs: number;
  gcMs: number;
  /** The part of gcMs spent in scavenges (young generation): objects that outlive a scavenge are copied. */
  scavengeMs: number;
  allocatedMiB: number;
}

async function sampleRun(mod: ModuleBench, session: Session, shape: string, entities: number, jobs: number): Promise<Sample> {
  let gcMs = 0;
  let scavengeMs = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavengeMs += entry.duration;
    }
  });
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const run = await mod.entities(shape, entities, Math.round(jobs / entities), 300_000, () => {
    gc.observe({ type: 'gc' });
    void session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    cpuAtStart = process.cpuUsage();
  });
  const cpu = process.cpuUsage(cpuAtStart);
  gc.disconnect();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const allocated = sumSelfSizes(profile.head);
  if (!run.fifoOk) throw new Error(`per-entity FIFO violated in the ${shape} run`);
  return { entities, jobsPerS: run.jobsPerS, cpuMs: round((cpu.user + cpu.system) / 1000), gcMs: round(gcMs), scavengeMs: round(scavengeMs), allocatedMiB: round(allocated / 2 ** 20) };
}

function sumSelfSizes(node: { selfSize: number; children: Array<{ selfSize: number; children: unknown[] }> }): number {
  let total = node.selfSize;
  for (const child of node.children) total += sumSelfSizes(child as typeof node);
  return total;
}

async function main(): Promise<void> {
  parseArgs({ options: { rounds: { type: 'string' }, jobs: { type: 'string' }, many: { type: 'string' }, few: { type: 'string' } } }); // rejects unknown flags
  const argv = process.argv.slice(2);
  const rounds = intFlag(argv, '--rounds', 3, 20);
  const jobs = intFlag(argv, '--jobs', 20_000, 1_000_000);
  const many = intFlag(argv, '--many', 1000, 20_000);
  const few = intFlag(argv, '--few', 100, 20_000);
  if (few >= many) throw new Error(`--few (${few}) must be smaller than --many (${many})`);
  if (jobs < many) throw new Error(`--jobs (${jobs}) must be at least --many (${many}): every entity gets a job`);
  const redis = await startRedisServer({ args: ['--maxclients', '20000'] });
  const release = cleanupOnSignals(() => redis.stop());
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  let mod: ModuleBench | undefined;
  try {
    mod = await ModuleBench.start(redis.url, 'aqprof', 250);
    const samples: Sample[] = [];
    for (let r = 0; r < rounds; r += 1) {
      for (const entities of r % 2 === 0 ? [many, few] : [few, many]) {
        const sample = await sampleRun(mod, session, `p2r${r}e${entities}`, entities, jobs);
        console.log(`[profile-p2] round ${r + 1}: ${JSON.stringify(sample)}`);
        samples.push(sample);
      }
    }
    const med = (entities: number, key: keyof Omit<Sample, 'entities'>) => median(samples.filter((s) => s.entities === entities).map((s) => s[key]));
    const shape = (entities: number) => ({
      entities,
      jobsPerEntity: Math.round(jobs / entities),
      jobsPerS: med(entities, 'jobsPerS'),
      cpuMs: med(entities, 'cpuMs'),
      gcMs: med(entities, 'gcMs'),
      scavengeMs: med(entities, 'scavengeMs'),
      allocatedMiB: med(entities, 'allocatedMiB'),
    });
    const a = shape(many);
    const b = shape(few);
    const perEntity = (x: number, y: number) => round((x - y) / (many - few), 3);
    const perJob = (x: number, entityCost: number, entities: number) => round(((x - entityCost * entities) * 1000) / jobs, 1);
    const cpuPerEntity = perEntity(a.cpuMs, b.cpuMs);
    const gcPerEntity = perEntity(a.gcMs, b.gcMs);
    const scavengePerEntity = perEntity(a.scavengeMs, b.scavengeMs);
    const allocPerEntityKiB = round(((a.allocatedMiB - b.allocatedMiB) * 1024) / (many - few), 1);
    console.log(
      JSON.stringify(
        {
          rounds,
          jobs,
          shapes: [a, b],
          perEntityActivation: { cpuMs: cpuPerEntity, gcMs: gcPerEntity, scavengeMs: scavengePerEntity, allocatedKiB: allocPerEntityKiB },
          perJob: { cpuUs: perJob(b.cpuMs, cpuPerEntity, few), allocatedKiB: round(((b.allocatedMiB * 1024) - allocPerEntityKiB * few) / jobs, 2) },
          gcShareOfCpu: { [many]: round(a.gcMs / a.cpuMs, 3), [few]: round(b.gcMs / b.cpuMs, 3) },
        },
        null,
        2,
      ),
    );
  } finally {
    await mod?.close();
    session.disconnect();
    await redis.stop();
    release();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
