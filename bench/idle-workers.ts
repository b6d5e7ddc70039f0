import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { round } from '../toolkit/report/stats.js';
import { intFlag, pool } from './common.js';
import { ModuleBench } from './module-bench.js';

/**
 * `npm run build && node dist/bench/idle-workers.js [--workers n] [--seconds s]`: what N idle entity workers of one
 * node cost while nothing happens: Redis commands per second (INFO commandstats, commands run inside scripts
 * included), EVALSHA per second (heartbeat batches, stalled checks, BullMQ's idle fetches) and this process's CPU,
 * measured over `seconds` after a warm-up longer than BullMQ's 5 s blocking fetch. Prints one JSON line.
 */
const WARMUP_MS = 6000;

async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) calls.set(m[1]!, Number(m[2]));
  }
  return calls;
}

async function main(): Promise<void> {
  parseArgs({ options: { workers: { type: 'string' }, seconds: { type: 'string' } } }); // rejects unknown flags
  const argv = process.argv.slice(2);
  const workers = intFlag(argv, '--workers', 1000, 20_000);
  const seconds = intFlag(argv, '--seconds', 10, 600);
  const redis = await startRedisServer({ args: ['--maxclients', '25000'] });
  const release = cleanupOnSignals(() => redis.stop());
  const admin = new Redis(redis.url, { connectionName: 'aq-bench-admin' });
  let mod: ModuleBench | undefined;
  try {
    // The cron is left to its default 5 s tick: idle entities have no pending jobs, so it would only retire workers.
    mod = await ModuleBench.start(redis.url, 'aqidle', 5000);
    const ids = Array.from({ length: workers }, (_, i) => `e${i}`);
    await pool(ids, 64, async (id) => {
      const queue = await mod!.queues.getOrCreateEntityQueue('idle', id);
      await mod!.workers.createWorker({ workerName: `idle-${id}-worker`, queueName: queue.name, processor: async () => undefined });
    });
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const before = await commandCalls(admin);
    const cpu = process.cpuUsage();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const used = process.cpuUsage(cpu);
    const after = await commandCalls(admin);
    const delta = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const all = [...after.keys()].filter((k) => k !== 'info').reduce((n, k) => n + delta(k), 0);
    console.log(
      JSON.stringify({
        workers,
        seconds,
        // every worker still alive at the end (one that lost its heartbeat closes itself)
        liveWorkers: mod.workers.getLocalWorkerNames().length,
        evalshaPerS: round(delta('evalsha') / seconds, 1),
        commandsPerS: round(all / seconds, 1),
        nodeCpuPercent: round(((used.user + used.system) / 1000 / (seconds * 1000)) * 100, 1),
      }),
    );
  } finally {
    release();
    await mod?.close();
    admin.disconnect();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
