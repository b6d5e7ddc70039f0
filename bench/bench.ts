import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startRedisServer } from '@nestjs/atomic-queues/testing';
import { cleanupOnSignals } from '../toolkit/cluster/interrupt.js';
import { median, round, type Distribution } from '../toolkit/report/stats.js';
import { nodeKill, spread } from './cluster-bench.js';
import { jobsProcessed } from './common.js';
import { groupmqFairness, groupmqNewGroupLatency, groupmqRun } from './groupmq.js';
import { ModuleBench } from './module-bench.js';
import { benchOptions, type Part } from './options.js';
import { ProgressReporter } from '../toolkit/progress/progress.js';
import { rawLatency, rawOneQueue, rawPerEntity } from './raw-bullmq.js';

/**
 * `npm run bench [-- --quick] [--rounds n] [--only p1,..] [--with p5,..] [--out path] [--cron-interval ms]
 * [--heartbeat-ttl s] [--p6-entities n] [--p2-entities n]`: side-by-side measurements on a private redis-server, printed as a table
 * and written to load/results/bench.json. Every figure is given for the module, raw BullMQ and groupmq 1.1.0.
 * P1/P2 run in `rounds` (default 3) rounds, each variant once per round (the order rotates every round); a ratio
 * is the median of its per-round ratios.
 *   P1 one entity, sequential: module vs raw BullMQ Worker concurrency 1 vs groupmq one group, concurrency 1
 *   P2 many entities × jobs on one node: module vs raw BullMQ one queue concurrency 50 (no ordering) vs groupmq
 *      concurrency 50 (per-group FIFO), and vs the naive per-entity design (one BullMQ Worker per entity queue);
 *      `--p2-entities n` spreads the same job total over n entities (what each entity's activation costs)
 *   P3 Redis connections this node holds during P2 (module, raw BullMQ, groupmq, naive)
 *   P4 new entity: enqueue → processor start; the module's worker spawned by the cron (`registerEntityType`, the
 *      app's path) and explicitly after enqueue; raw BullMQ and groupmq on a running Worker
 * Default parts: p1–p4. Behind flags (`--with p5,p6` adds to them, `--only p5` runs just those):
 *   P5 3 node processes, the busiest SIGKILLed mid-job: kill → next job start of each entity it served (p99 vs
 *      heartbeatTTL + 1 s), jobs lost
 *   P6 10,000 entities (`--p6-entities`) active on one node complete; peak connections held
 *   P7 3 node processes, 300 entities under sustained load: share of entities and of jobs per node (>= 20% each)
 *   P8 one hot entity with 10,000 queued jobs beside 500 cold entities with 3 jobs each: cold enqueue → start p99
 * Ratios are throughput ÷ reference throughput (higher is better, 1 = parity). Targets are printed, never asserted.
 */
const SIZES = {
  full: {
    p1Jobs: 10_000,
    p2Entities: 1000,
    p2Jobs: 20,
    p4Count: 100,
    p5: { entities: 60, jobsPerEntity: 40, jobMs: 50, drainTimeoutMs: 180_000 },
    p6: { entities: 10_000, jobsPerEntity: 2 },
    p7: { entities: 300, jobsPerEntity: 20, jobMs: 5, addsPerSecond: 600, drainTimeoutMs: 180_000 },
    p8: { hotJobs: 10_000, coldEntities: 500, coldJobs: 3, spacingMs: 2 },
    timeoutMs: 300_000,
  },
  quick: {
    p1Jobs: 2000,
    p2Entities: 200,
    p2Jobs: 10,
    p4Count: 30,
    p5: { entities: 30, jobsPerEntity: 30, jobMs: 30, drainTimeoutMs: 120_000 },
    p6: { entities: 1000, jobsPerEntity: 2 },
    p7: { entities: 150, jobsPerEntity: 10, jobMs: 5, addsPerSecond: 500, drainTimeoutMs: 120_000 },
    p8: { hotJobs: 2000, coldEntities: 100, coldJobs: 3, spacingMs: 2 },
    timeoutMs: 120_000,
  },
};
type Size = (typeof SIZES)['full'];

const jobsOf = (entities: number, perEntity: number) =>
  Array.from({ length: entities * perEntity }, (_, i) => ({ name: 'bench', data: { entity: i % entities, seq: Math.floor(i / entities) } }));

/** Runs the thunks in the order rotated by `r` (so no variant always runs first, or right after the same one). */
async function rotated<T extends Record<string, () => Promise<unknown>>>(r: number, steps: T): Promise<{ [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const keys = Object.keys(steps);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[(i + r) % keys.length]!;
    out[key] = await steps[key]!();
  }
  return out as { [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

/** One round: every P1/P2 variant once, back to back, so each ratio compares runs made minutes apart at most. */
async function measureRound(redisUrl: string, prefix: string, mod: ModuleBench, size: Size, parts: Set<Part>, r: number, log: (s: string) => void) {
  const p1 = parts.has('p1')
    ? (log(`round ${r + 1}: P1 one entity × ${size.p1Jobs}: raw BullMQ (concurrency 1), groupmq (concurrency 1), module`),
      await rotated(r, {
        raw: () => rawOneQueue(redisUrl, `${prefix}r${r}`, jobsOf(1, size.p1Jobs), 1, size.timeoutMs),
        groupmq: () => groupmqRun(redisUrl, `${prefix}g1r${r}`, 1, size.p1Jobs, 1, size.timeoutMs),
        mod: () => mod.entities(`p1r${r}`, 1, size.p1Jobs, size.timeoutMs),
      }))
    : undefined;
  const p2 = parts.has('p2')
    ? (log(`round ${r + 1}: P2 ${size.p2Entities} entities × ${size.p2Jobs} jobs: raw one queue (c50), groupmq (c50), naive per-entity Workers, module`),
      await rotated(r, {
        raw: () => rawOneQueue(redisUrl, `${prefix}r${r}`, jobsOf(size.p2Entities, size.p2Jobs), 50, size.timeoutMs),
        groupmq: () => groupmqRun(redisUrl, `${prefix}g2r${r}`, size.p2Entities, size.p2Jobs, 50, size.timeoutMs),
        naive: () => rawPerEntity(redisUrl, `${prefix}n${r}`, size.p2Entities, size.p2Jobs, size.timeoutMs),
        mod: () => mod.entities(`p2r${r}`, size.p2Entities, size.p2Jobs, size.timeoutMs),
      }))
    : undefined;
  return { p1, p2 };
}
type Round = Awaited<ReturnType<typeof measureRound>>;

const ms = (d: Distribution) => ({ p50Ms: round(d.p50), p99Ms: round(d.p99) });
const pair = (d: { p50Ms: number; p99Ms: number }) => `${d.p50Ms} / ${d.p99Ms}`;

/** Median over rounds of a ratio, the per-round ratios, and the round whose ratio is the median one. */
function ratioOf<T>(rows: T[], ratio: (x: T) => number) {
  const ratios = rows.map((x) => round(ratio(x), 3));
  const order = ratios.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  return { ratio: round(median(ratios), 3), ratios, shown: rows[order[(order.length - 1) >> 1]![1]]! };
}

async function main(): Promise<void> {
  const opts = benchOptions(process.argv.slice(2));
  const base = opts.quick ? SIZES.quick : SIZES.full;
  // --p2-entities: the same P2 job total over fewer or more entities (what the per-entity cost weighs).
  const p2Total = base.p2Entities * base.p2Jobs;
  const p2Entities = opts.p2Entities ?? base.p2Entities;
  const size: Size = { ...base, p2Entities, p2Jobs: Math.max(1, Math.round(p2Total / p2Entities)) };
  const redis = await startRedisServer({ args: ['--maxclients', '20000'] });
  const prefix = `aqb${randomBytes(3).toString('hex')}`;
  // The parts in the order main() runs them (P1-P3 share their rounds): the progress line's scenarios.
  const groups = ([['p1', 'p2', 'p3'], ['p4'], ['p8'], ['p6'], ['p5'], ['p7']] as Part[][]).filter((g) => g.some((p) => opts.parts.has(p)));
  // jobs: those of the in-process parts, every variant (module and references); the node processes' of P5/P7 are not seen here
  const progress = new ProgressReporter({ label: 'bench', total: Math.max(1, groups.length), jobs: jobsProcessed });
  const log = (s: string) => progress.log(`[bench] ${s}`);
  log(`redis-server ${redis.url}, ${opts.quick ? 'quick' : 'full'} sizes, parts ${[...opts.parts].sort().join(',')}, ${opts.rounds} round(s)`);
  let mod: ModuleBench | undefined;
  const release = cleanupOnSignals(() => redis.stop());
  const result: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    node: process.version,
    rounds: opts.rounds,
    parts: [...opts.parts].sort(),
    cronIntervalMs: opts.cronInterval,
    heartbeatTTLSeconds: opts.heartbeatTTL ?? 'module default',
    references: { bullmq: '6.7.0', groupmq: '1.1.0' },
  };
  const table: Record<string, { module: unknown; bullmq: unknown; groupmq: unknown; target: string; note: string }> = {};
  const each = (xs: number[]) => (xs.length > 1 ? ` (${xs.join(', ')})` : '');
  let failed = false;
  const save = () => {
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  };
  /** Runs the parts' measurement; a failure is recorded as `{ error }` for them and the next parts still run. */
  const part = async (names: Part[], body: () => Promise<void>) => {
    const mine = names.filter((p) => opts.parts.has(p));
    if (mine.length === 0) return;
    progress.startScenario(mine.join(','));
    try {
      await body();
    } catch (error) {
      failed = true;
      const message = error instanceof Error ? error.message : String(error);
      log(`${mine.join(', ')} FAILED: ${message}`);
      for (const p of mine) result[p] = { error: message };
      table[`${mine.join(', ').toUpperCase()} FAILED`] = { module: message.slice(0, 160), bullmq: '', groupmq: '', target: '', note: '' };
    }
    save(); // after every part: figures measured so far survive a later failure or an interrupt
  };
  try {
    const m = await ModuleBench.start(redis.url, `${prefix}m`, opts.cronInterval, opts.heartbeatTTL);
    mod = m;
    await part(['p1', 'p2', 'p3'], async () => {
      const rounds: Round[] = [];
      for (let r = 0; r < opts.rounds; r++) rounds.push(await measureRound(redis.url, prefix, m, size, opts.parts, r, log));

      if (opts.parts.has('p1')) {
        const rows = rounds.map((x) => x.p1!);
        const vsRaw = ratioOf(rows, (x) => x.mod.jobsPerS / x.raw.jobsPerS);
        const vsGroupmq = ratioOf(rows, (x) => x.mod.jobsPerS / x.groupmq.jobsPerS);
        const groupmqVsRaw = ratioOf(rows, (x) => x.groupmq.jobsPerS / x.raw.jobsPerS);
        const { shown } = vsRaw;
        const fifoOk = rows.every((x) => x.mod.fifoOk);
        if (!fifoOk) failed = true;
        result.p1 = {
          ratio: vsRaw.ratio,
          jobs: size.p1Jobs,
          module: { ...shown.mod, connections: undefined },
          raw: shown.raw,
          ratios: vsRaw.ratios,
          groupmq: { ...shown.groupmq, ratioVsRaw: groupmqVsRaw.ratio, ratiosVsRaw: groupmqVsRaw.ratios },
          moduleVsGroupmq: vsGroupmq.ratio,
          moduleVsGroupmqRatios: vsGroupmq.ratios,
          moduleFifoOk: fifoOk,
          groupmqFifoViolations: rows.reduce((n, x) => n + x.groupmq.fifoViolations, 0),
        };
        table['P1 one entity, c1 (jobs/s)'] = {
          module: shown.mod.jobsPerS,
          bullmq: shown.raw.jobsPerS,
          groupmq: shown.groupmq.jobsPerS,
          target: '>= 0.9× BullMQ',
          note: `module/BullMQ ${vsRaw.ratio}${each(vsRaw.ratios)}, module/groupmq ${vsGroupmq.ratio}, groupmq/BullMQ ${groupmqVsRaw.ratio}`,
        };
      }

      if (opts.parts.has('p2')) {
        const rows = rounds.map((x) => x.p2!);
        const vsRaw = ratioOf(rows, (x) => x.mod.jobsPerS / x.raw.jobsPerS);
        const vsGroupmq = ratioOf(rows, (x) => x.mod.jobsPerS / x.groupmq.jobsPerS);
        const groupmqVsRaw = ratioOf(rows, (x) => x.groupmq.jobsPerS / x.raw.jobsPerS);
        const naive = ratioOf(rows, (x) => x.naive.jobsPerS / x.raw.jobsPerS);
        const vsNaive = ratioOf(rows, (x) => x.mod.jobsPerS / x.naive.jobsPerS);
        const { shown } = vsRaw;
        const fifoOk = rows.every((x) => x.mod.fifoOk);
        if (!fifoOk) failed = true;
        const groupmqFifoViolations = rows.reduce((n, x) => n + x.groupmq.fifoViolations, 0);
        result.p2 = {
          ratio: vsRaw.ratio,
          entities: size.p2Entities,
          jobsPerEntity: size.p2Jobs,
          module: { ...shown.mod, connections: undefined },
          raw: { ...shown.raw, concurrency: 50 },
          ratios: vsRaw.ratios,
          groupmq: { ...shown.groupmq, concurrency: 50, ratioVsRaw: groupmqVsRaw.ratio, ratiosVsRaw: groupmqVsRaw.ratios },
          moduleVsGroupmq: vsGroupmq.ratio,
          moduleVsGroupmqRatios: vsGroupmq.ratios,
          groupmqFifoViolations,
          // the naive per-entity Worker design, measured in the same rounds
          naive: { ...shown.naive, ratio: naive.ratio, ratios: naive.ratios },
          moduleVsNaive: vsNaive.ratio,
          moduleVsNaiveRatios: vsNaive.ratios,
          moduleFifoOk: fifoOk,
          moduleRepeats: rows.reduce((n, x) => n + x.mod.repeats, 0),
          heartbeatLosses: m.heartbeatLosses,
        };
        table[`P2 ${size.p2Entities}×${size.p2Jobs}, c50 (jobs/s)`] = {
          module: shown.mod.jobsPerS,
          bullmq: shown.raw.jobsPerS,
          groupmq: shown.groupmq.jobsPerS,
          target: '>= 0.8× BullMQ',
          note: `module/BullMQ ${vsRaw.ratio}${each(vsRaw.ratios)}, module/groupmq ${vsGroupmq.ratio}, groupmq/BullMQ ${groupmqVsRaw.ratio}; naive ${shown.naive.jobsPerS} (module/naive ${vsNaive.ratio})`,
        };
        if (opts.parts.has('p3')) {
          const p3 = Math.max(...rows.map((x) => x.mod.connections.total));
          result.p3 = {
            connections: p3,
            byName: shown.mod.connections.byName,
            perEntity: round(p3 / size.p2Entities, 2),
            rawConnections: shown.raw.connections,
            groupmqConnections: Math.max(...rows.map((x) => x.groupmq.connections)),
            naiveConnections: shown.naive.connections,
          };
          table['P3 connections during P2 (peak)'] = {
            module: p3,
            bullmq: shown.raw.connections ?? '-',
            groupmq: (result.p3 as { groupmqConnections: number }).groupmqConnections,
            target: '<= 16',
            note: `naive per-entity Workers ${shown.naive.connections ?? '-'}`,
          };
        }
        log(`per-entity FIFO in P2: ${fifoOk ? 'kept' : 'VIOLATED'} (${result.p2 && (result.p2 as { moduleRepeats: number }).moduleRepeats} re-run(s), ${m.heartbeatLosses} heartbeat loss(es)); groupmq FIFO violations: ${groupmqFifoViolations}`);
        if (!rows.every((x) => x.naive.fifoOk)) log('naive per-entity reference: per-entity order VIOLATED');
      }
    });

    await part(['p4'], async () => {
      log(`P4 new-entity latency, ${size.p4Count} entities: module (registered: engine dispatcher; explicit), raw BullMQ, groupmq`);
      const p4Cron = await m.newEntityLatency('p4c', size.p4Count, Math.max(5, Math.round(opts.cronInterval / 7)), 'engine', size.timeoutMs);
      const p4Explicit = await m.newEntityLatency('p4x', size.p4Count, 20, 'explicit', size.timeoutMs);
      const p4Raw = await rawLatency(redis.url, `${prefix}l`, size.p4Count, 20, size.timeoutMs);
      const p4Groupmq = await groupmqNewGroupLatency(redis.url, `${prefix}gl`, size.p4Count, 20, size.timeoutMs);
      result.p4 = {
        ...ms(p4Cron),
        spawn: 'engine',
        cron: p4Cron,
        explicit: { ...ms(p4Explicit), distribution: p4Explicit },
        raw: { ...ms(p4Raw), distribution: p4Raw },
        groupmq: { ...ms(p4Groupmq), distribution: p4Groupmq },
      };
      table['P4 new entity p50/p99 ms (registered: engine)'] = { module: pair(ms(p4Cron)), bullmq: pair(ms(p4Raw)), groupmq: pair(ms(p4Groupmq)), target: 'p99 <= 50', note: 'references: a job on a running Worker' };
      table['P4 new entity p50/p99 ms (createWorker after enqueue)'] = { module: pair(ms(p4Explicit)), bullmq: '', groupmq: '', target: 'p99 <= 50', note: '' };
    });

    await part(['p8'], async () => {
      const s = size.p8;
      log(`P8 fairness: hot entity ${s.hotJobs} jobs + ${s.coldEntities} cold entities × ${s.coldJobs}: module (engine, explicit), groupmq (c50)`);
      const cron = await m.fairness('p8c', s.hotJobs, s.coldEntities, s.coldJobs, s.spacingMs, 'engine', size.timeoutMs);
      const explicit = await m.fairness('p8x', s.hotJobs, s.coldEntities, s.coldJobs, s.spacingMs, 'explicit', size.timeoutMs);
      const gmq = await groupmqFairness(redis.url, `${prefix}gf`, s.hotJobs, s.coldEntities, s.coldJobs, s.spacingMs, size.timeoutMs);
      result.p8 = {
        ...s,
        targetP99Ms: 100,
        cron: { ...ms(cron.cold), hotLeftWhenColdDone: cron.hotLeftWhenColdDone, distribution: cron.cold },
        explicit: { ...ms(explicit.cold), hotLeftWhenColdDone: explicit.hotLeftWhenColdDone, distribution: explicit.cold },
        groupmq: { ...ms(gmq.cold), hotLeftWhenColdDone: gmq.hotLeftWhenColdDone, distribution: gmq.cold },
      };
      const left = `hot jobs still queued when the last cold job started: module ${cron.hotLeftWhenColdDone} (engine) / ${explicit.hotLeftWhenColdDone} (explicit), groupmq ${gmq.hotLeftWhenColdDone}`;
      table['P8 cold jobs beside a hot entity p50/p99 ms (engine)'] = { module: pair(ms(cron.cold)), bullmq: '-', groupmq: pair(ms(gmq.cold)), target: 'p99 <= 100', note: left };
      table['P8 cold jobs beside a hot entity p50/p99 ms (explicit)'] = { module: pair(ms(explicit.cold)), bullmq: '-', groupmq: '', target: 'p99 <= 100', note: '' };
    });

    await part(['p6'], async () => {
      const entities = opts.p6Entities ?? size.p6.entities;
      log(`P6 ${entities} entities × ${size.p6.jobsPerEntity} jobs active on one node (module), groupmq c50 beside it`);
      const run = await m.entities('p6', entities, size.p6.jobsPerEntity, size.timeoutMs * 2);
      const gmq = await groupmqRun(redis.url, `${prefix}g6`, entities, size.p6.jobsPerEntity, 50, size.timeoutMs * 2);
      if (!run.fifoOk) failed = true;
      result.p6 = {
        entities,
        jobsPerEntity: size.p6.jobsPerEntity,
        completed: true,
        module: { ...run, connections: run.connections.total, byName: run.connections.byName },
        groupmq: gmq,
        targetConnections: 16,
      };
      table[`P6 ${entities} entities: jobs/s, peak connections`] = {
        module: `${run.jobsPerS}, ${run.connections.total}`,
        bullmq: '-',
        groupmq: `${gmq.jobsPerS}, ${gmq.connections}`,
        target: 'completes, conns <= 16',
        note: `module FIFO ${run.fifoOk ? 'kept' : 'VIOLATED'}, groupmq FIFO violations ${gmq.fifoViolations}`,
      };
    });

    const timings = { heartbeatTtlMs: (opts.heartbeatTTL ?? 2) * 1000, cronIntervalMs: opts.cronInterval };
    await part(['p5'], async () => {
      log(`P5 3 node processes, ${size.p5.entities} entities × ${size.p5.jobsPerEntity} jobs of ${size.p5.jobMs} ms, busiest node SIGKILLed mid-job (heartbeatTTL ${timings.heartbeatTtlMs} ms)`);
      const p5 = await nodeKill(redis.url, timings, size.p5);
      result.p5 = { ...size.p5, ...timings, ...p5 };
      if (p5.drainError) {
        failed = true;
        log(`P5: ${p5.drainError}`);
      }
      table['P5 node SIGKILL: kill → resume p50/p99 ms, lost'] = {
        module: `${pair(ms(p5.resume))}, ${p5.lost} lost`,
        bullmq: '-',
        groupmq: '-',
        target: `p99 <= ${p5.targetMs}, 0 lost`,
        note: `${p5.entities} entities of ${p5.killedNode}; ${p5.summary}`,
      };
    });
    await part(['p7'], async () => {
      log(`P7 spread: 3 node processes, ${size.p7.entities} entities × ${size.p7.jobsPerEntity} jobs at ${size.p7.addsPerSecond} adds/s`);
      const p7 = await spread(redis.url, timings, size.p7);
      result.p7 = { ...size.p7, ...p7 };
      if (p7.drainError) {
        failed = true;
        log(`P7: ${p7.drainError}`);
      }
      const shares = Object.entries(p7.perNode).map(([id, s]) => `${id} ${s.entityShare}/${s.jobShare}`).join(', ');
      table['P7 spread: min share of entities / jobs per node'] = {
        module: `${p7.minEntityShare} / ${p7.minJobShare}`,
        bullmq: '-',
        groupmq: '-',
        target: '>= 0.2 / 0.2',
        note: `entities/jobs per node: ${shares}; ${p7.summary}`,
      };
    });

    save();
    progress.stop();
    console.table(table);
    log(`written ${opts.out}`);
    if (failed) process.exitCode = 1;
  } finally {
    progress.stop();
    release();
    await mod?.close();
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
