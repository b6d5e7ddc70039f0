import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { cleanupOnSignals } from '../load/lib/interrupt.js';
import { round } from '../load/lib/stats.js';
import { ModuleBench } from './module-bench.js';
import { rawOneQueue } from './raw-bullmq.js';

/**
 * `npm run bench [-- --quick] [--out path] [--cron-interval ms] [--heartbeat-ttl s]`: side-by-side measurements on a private
 * redis-server, printed as a table and written to load/results/bench.json.
 *   P1 one entity, sequential: module vs raw BullMQ Worker concurrency 1 on one queue
 *   P2 many entities × jobs on one node: module vs raw BullMQ one queue, concurrency 50 (no ordering)
 *   P3 Redis connections this node holds during P2 (module; raw shown beside it)
 *   P4 new entity: enqueue → processor start, worker spawned by the cron and explicitly after enqueue
 * Ratios are module ÷ raw throughput (higher is better, 1 = parity). No timing is asserted anywhere.
 */
const SIZES = {
  full: { p1Jobs: 10_000, p2Entities: 1000, p2Jobs: 20, p4Count: 100, timeoutMs: 300_000 },
  quick: { p1Jobs: 2000, p2Entities: 200, p2Jobs: 10, p4Count: 30, timeoutMs: 120_000 },
};

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'load/results/bench.json' },
      'cron-interval': { type: 'string', default: '250' },
      'heartbeat-ttl': { type: 'string' },
    },
  });
  const ttlRaw = values['heartbeat-ttl'];
  const heartbeatTTL = ttlRaw === undefined ? undefined : Number(ttlRaw);
  if (heartbeatTTL !== undefined && !(Number.isInteger(heartbeatTTL) && heartbeatTTL >= 2)) {
    throw new Error(`--heartbeat-ttl must be an integer >= 2 (seconds), got "${ttlRaw}"`);
  }
  const cronInterval = Number(values['cron-interval']);
  if (!Number.isInteger(cronInterval) || cronInterval < 10) {
    throw new Error(`--cron-interval must be an integer >= 10 (ms), got "${values['cron-interval']}"`);
  }
  return { quick: values.quick!, out: resolve(values.out!), cronInterval, heartbeatTTL };
}

const jobsOf = (entities: number, perEntity: number) =>
  Array.from({ length: entities * perEntity }, (_, i) => ({ name: 'bench', data: { entity: i % entities, seq: Math.floor(i / entities) } }));

async function main(): Promise<void> {
  const opts = options();
  const size = opts.quick ? SIZES.quick : SIZES.full;
  const redis = await startRedisServer({ args: ['--maxclients', '20000'] });
  const prefix = `aqb${randomBytes(3).toString('hex')}`;
  const log = (s: string) => console.log(`[bench] ${s}`);
  log(`redis-server ${redis.url}, ${opts.quick ? 'quick' : 'full'} sizes ${JSON.stringify(size)}`);
  let mod: ModuleBench | undefined;
  const release = cleanupOnSignals(() => redis.stop());
  try {
    // Raw baselines first, so their connection count is not mixed with the module's.
    log('P1 raw BullMQ, one queue, concurrency 1');
    const p1Raw = await rawOneQueue(redis.url, `${prefix}r`, jobsOf(1, size.p1Jobs), 1, size.timeoutMs);
    log(`P2 raw BullMQ, one queue, concurrency 50`);
    const p2Raw = await rawOneQueue(redis.url, `${prefix}r`, jobsOf(size.p2Entities, size.p2Jobs), 50, size.timeoutMs);
    mod = await ModuleBench.start(redis.url, `${prefix}m`, opts.cronInterval, opts.heartbeatTTL);
    log('P1 module, one entity');
    const p1Mod = await mod.entities('p1', 1, size.p1Jobs, size.timeoutMs);
    log(`P2 module, ${size.p2Entities} entities × ${size.p2Jobs} jobs`);
    const p2Mod = await mod.entities('p2', size.p2Entities, size.p2Jobs, size.timeoutMs);
    log(`P4 new-entity latency, ${size.p4Count} entities, cron every ${opts.cronInterval} ms`);
    const p4Cron = await mod.newEntityLatency('p4c', size.p4Count, Math.max(5, Math.round(opts.cronInterval / 7)), 'cron', size.timeoutMs);
    const p4Explicit = await mod.newEntityLatency('p4x', size.p4Count, 20, 'explicit', size.timeoutMs);

    const result = {
      generatedAt: new Date().toISOString(),
      mode: opts.quick ? 'quick' : 'full',
      node: process.version,
      cronIntervalMs: opts.cronInterval,
      heartbeatTTLSeconds: opts.heartbeatTTL ?? 'module default',
      p1: { ratio: round(p1Mod.jobsPerS / p1Raw.jobsPerS, 3), jobs: size.p1Jobs, module: p1Mod, raw: p1Raw },
      p2: {
        ratio: round(p2Mod.jobsPerS / p2Raw.jobsPerS, 3),
        entities: size.p2Entities,
        jobsPerEntity: size.p2Jobs,
        module: { ...p2Mod, connections: undefined },
        raw: { ...p2Raw, concurrency: 50 },
        moduleFifoOk: p2Mod.fifoOk,
        moduleRepeats: p2Mod.repeats,
        heartbeatLosses: mod.heartbeatLosses,
      },
      p3: { connections: p2Mod.connections.total, byName: p2Mod.connections.byName, perEntity: round(p2Mod.connections.total / size.p2Entities, 2), rawConnections: p2Raw.connections },
      p4: {
        p50Ms: round(p4Cron.p50),
        p99Ms: round(p4Cron.p99),
        spawn: 'cron',
        cron: p4Cron,
        explicit: { p50Ms: round(p4Explicit.p50), p99Ms: round(p4Explicit.p99), distribution: p4Explicit },
      },
    };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    console.table({
      'P1 one entity (jobs/s)': { module: p1Mod.jobsPerS, raw: p1Raw.jobsPerS, ratio: result.p1.ratio },
      [`P2 ${size.p2Entities}×${size.p2Jobs} (jobs/s)`]: { module: p2Mod.jobsPerS, raw: p2Raw.jobsPerS, ratio: result.p2.ratio },
      'P3 Redis connections': { module: result.p3.connections, raw: p2Raw.connections ?? '-', ratio: '' },
      'P4 new entity p50/p99 ms (cron)': { module: `${result.p4.p50Ms} / ${result.p4.p99Ms}`, raw: '-', ratio: '' },
      'P4 new entity p50/p99 ms (explicit)': { module: `${result.p4.explicit.p50Ms} / ${result.p4.explicit.p99Ms}`, raw: '-', ratio: '' },
    });
    log(`per-entity FIFO in P2: ${p2Mod.fifoOk ? 'kept' : 'VIOLATED'} (${p2Mod.repeats} re-run(s), ${mod.heartbeatLosses} heartbeat loss(es)); written ${opts.out}`);
    if (!p1Mod.fifoOk || !p2Mod.fifoOk) process.exitCode = 1;
  } finally {
    release();
    await mod?.close();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
