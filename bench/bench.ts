import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { median, round } from '../toolkit/report/stats.js';
import { ModuleBench } from './module-bench.js';
import { rawOneQueue, rawPerEntity } from './raw-bullmq.js';

/**
 * `npm run bench [-- --quick] [--rounds n] [--out path] [--cron-interval ms] [--heartbeat-ttl s]`: side-by-side
 * measurements on a private redis-server, printed as a table and written to load/results/bench.json. P1/P2 run in
 * `rounds` (default 3) alternating rounds, each variant once per round; a ratio is the median of its per-round ratios.
 *   P1 one entity, sequential: module vs raw BullMQ Worker concurrency 1 on one queue
 *   P2 many entities × jobs on one node: module vs raw BullMQ one queue, concurrency 50 (no ordering), and vs the
 *      naive per-entity design (raw BullMQ, one queue + one concurrency-1 Worker per entity)
 *   P3 Redis connections this node holds during P2 (module; raw shown beside it)
 *   P4 new entity: enqueue → processor start, worker spawned by the cron and explicitly after enqueue
 * Ratios are module ÷ reference throughput (higher is better, 1 = parity). No timing is asserted anywhere.
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
      rounds: { type: 'string', default: '3' },
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
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds must be an integer from 1 to 20, got "${values.rounds}"`);
  return { quick: values.quick!, out: resolve(values.out!), cronInterval, heartbeatTTL, rounds };
}

const jobsOf = (entities: number, perEntity: number) =>
  Array.from({ length: entities * perEntity }, (_, i) => ({ name: 'bench', data: { entity: i % entities, seq: Math.floor(i / entities) } }));

/** One round: every P1/P2 variant once, back to back, so each ratio compares runs made minutes apart at most. */
async function measureRound(redisUrl: string, prefix: string, mod: ModuleBench, size: (typeof SIZES)['full'], r: number, log: (s: string) => void) {
  log(`round ${r + 1}: P1 raw BullMQ (one queue, concurrency 1), P1 module`);
  const p1Raw = await rawOneQueue(redisUrl, `${prefix}r${r}`, jobsOf(1, size.p1Jobs), 1, size.timeoutMs);
  const p1Mod = await mod.entities(`p1r${r}`, 1, size.p1Jobs, size.timeoutMs);
  log(`round ${r + 1}: P2 ${size.p2Entities} entities × ${size.p2Jobs} jobs: raw one queue (concurrency 50), naive per-entity Workers, module`);
  const p2Raw = await rawOneQueue(redisUrl, `${prefix}r${r}`, jobsOf(size.p2Entities, size.p2Jobs), 50, size.timeoutMs);
  const p2Naive = await rawPerEntity(redisUrl, `${prefix}n${r}`, size.p2Entities, size.p2Jobs, size.timeoutMs);
  const p2Mod = await mod.entities(`p2r${r}`, size.p2Entities, size.p2Jobs, size.timeoutMs);
  return { p1Raw, p1Mod, p2Raw, p2Naive, p2Mod };
}

async function main(): Promise<void> {
  const opts = options();
  const size = opts.quick ? SIZES.quick : SIZES.full;
  const redis = await startRedisServer({ args: ['--maxclients', '20000'] });
  const prefix = `aqb${randomBytes(3).toString('hex')}`;
  const log = (s: string) => console.log(`[bench] ${s}`);
  log(`redis-server ${redis.url}, ${opts.quick ? 'quick' : 'full'} sizes ${JSON.stringify(size)}, ${opts.rounds} round(s)`);
  let mod: ModuleBench | undefined;
  const release = cleanupOnSignals(() => redis.stop());
  try {
    mod = await ModuleBench.start(redis.url, `${prefix}m`, opts.cronInterval, opts.heartbeatTTL);
    const rounds = [];
    for (let r = 0; r < opts.rounds; r++) rounds.push(await measureRound(redis.url, prefix, mod, size, r, log));
    log(`P4 new-entity latency, ${size.p4Count} entities, cron every ${opts.cronInterval} ms`);
    const p4Cron = await mod.newEntityLatency('p4c', size.p4Count, Math.max(5, Math.round(opts.cronInterval / 7)), 'cron', size.timeoutMs);
    const p4Explicit = await mod.newEntityLatency('p4x', size.p4Count, 20, 'explicit', size.timeoutMs);

    // Ratios per round (module and reference measured minutes apart at most), then their median.
    const ratios = rounds.map((x) => ({
      p1: round(x.p1Mod.jobsPerS / x.p1Raw.jobsPerS, 3),
      p2: round(x.p2Mod.jobsPerS / x.p2Raw.jobsPerS, 3),
      naive: round(x.p2Naive.jobsPerS / x.p2Raw.jobsPerS, 3),
      moduleVsNaive: round(x.p2Mod.jobsPerS / x.p2Naive.jobsPerS, 3),
    }));
    const mid = (pick: (r: (typeof ratios)[number]) => number) => round(median(ratios.map(pick)), 3);
    // The round whose P2 ratio is the median one supplies the raw figures printed beside the ratios.
    const shown = rounds[ratios.map((r, i) => [r.p2, i] as const).sort((a, b) => a[0] - b[0])[(ratios.length - 1) >> 1]![1]]!;
    const p2Fifo = rounds.every((x) => x.p2Mod.fifoOk);
    const p1Fifo = rounds.every((x) => x.p1Mod.fifoOk);
    const p3 = Math.max(...rounds.map((x) => x.p2Mod.connections.total));
    const result = {
      generatedAt: new Date().toISOString(),
      mode: opts.quick ? 'quick' : 'full',
      node: process.version,
      rounds: opts.rounds,
      cronIntervalMs: opts.cronInterval,
      heartbeatTTLSeconds: opts.heartbeatTTL ?? 'module default',
      p1: { ratio: mid((r) => r.p1), jobs: size.p1Jobs, module: shown.p1Mod, raw: shown.p1Raw, ratios: ratios.map((r) => r.p1) },
      p2: {
        ratio: mid((r) => r.p2),
        entities: size.p2Entities,
        jobsPerEntity: size.p2Jobs,
        module: { ...shown.p2Mod, connections: undefined },
        raw: { ...shown.p2Raw, concurrency: 50 },
        ratios: ratios.map((r) => r.p2),
        // the naive per-entity Worker design (the reference, "about 0.29x"), measured in the same rounds
        naive: { ...shown.p2Naive, ratio: mid((r) => r.naive), ratios: ratios.map((r) => r.naive) },
        moduleVsNaive: mid((r) => r.moduleVsNaive),
        moduleVsNaiveRatios: ratios.map((r) => r.moduleVsNaive),
        moduleFifoOk: p2Fifo,
        moduleRepeats: rounds.reduce((n, x) => n + x.p2Mod.repeats, 0),
        heartbeatLosses: mod.heartbeatLosses,
      },
      p3: {
        connections: p3,
        byName: shown.p2Mod.connections.byName,
        perEntity: round(p3 / size.p2Entities, 2),
        rawConnections: shown.p2Raw.connections,
        naiveConnections: shown.p2Naive.connections,
      },
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
    const each = (xs: number[]) => (xs.length > 1 ? ` (rounds: ${xs.join(', ')})` : '');
    console.table({
      'P1 one entity (jobs/s)': { module: shown.p1Mod.jobsPerS, reference: shown.p1Raw.jobsPerS, ratio: `${result.p1.ratio}${each(result.p1.ratios)}` },
      [`P2 ${size.p2Entities}×${size.p2Jobs} vs raw, one queue c50 (jobs/s)`]: { module: shown.p2Mod.jobsPerS, reference: shown.p2Raw.jobsPerS, ratio: `${result.p2.ratio}${each(result.p2.ratios)}` },
      [`P2 vs naive per-entity Workers (jobs/s)`]: { module: shown.p2Mod.jobsPerS, reference: shown.p2Naive.jobsPerS, ratio: `${result.p2.moduleVsNaive}${each(result.p2.moduleVsNaiveRatios)}` },
      'P3 Redis connections (raw / naive)': { module: p3, reference: `${shown.p2Raw.connections ?? '-'} / ${shown.p2Naive.connections ?? '-'}`, ratio: '' },
      'P4 new entity p50/p99 ms (cron)': { module: `${result.p4.p50Ms} / ${result.p4.p99Ms}`, reference: '-', ratio: '' },
      'P4 new entity p50/p99 ms (explicit)': { module: `${result.p4.explicit.p50Ms} / ${result.p4.explicit.p99Ms}`, reference: '-', ratio: '' },
    });
    log(`per-entity FIFO in P2: ${p2Fifo ? 'kept' : 'VIOLATED'} (${result.p2.moduleRepeats} re-run(s), ${mod.heartbeatLosses} heartbeat loss(es)); written ${opts.out}`);
    if (!rounds.every((x) => x.p2Naive.fifoOk)) log('naive per-entity reference: per-entity order VIOLATED');
    if (!p1Fifo || !p2Fifo) process.exitCode = 1;
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
