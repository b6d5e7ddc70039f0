import type { Distribution } from '../toolkit/report/stats.js';
import { round } from '../toolkit/report/stats.js';
import { CAPPED_SHARE, peakLimitPct, type SeriesVerdict, type SoakSample } from './flatness.js';
import { passMinutes, type SoakOptions } from './options.js';

/** What `npm run soak` writes to soak/results/<run>.json and prints. */
export interface SoakReport {
  runId: string;
  startedAt: string;
  options: SoakOptions;
  /** Run dir with the node logs, histories and enqueue logs. */
  runDir: string;
  load: {
    /** Acknowledged adds (enqueue logs). */
    enqueued: number;
    /** Adds per second actually reached over the load phase. */
    ratePerS: number;
    loadPhaseS: number;
    /** Executions with outcome 'completed'. */
    completed: number;
    /** Distinct entities that got at least one job. */
    entities: number;
    /** Enqueue acknowledgement → first start, ms. */
    enqueueToStartMs: Distribution;
    completedPerMinute: number[];
  };
  /** Every acknowledged job completed before --drain-timeout. */
  drained: boolean;
  drainError?: string;
  checks: { lost: number; unexpected: number; fifo: number; overlap: number; duplicated: number; examples: string[] };
  /** Nodes that exited during the run (a crash is a failure). */
  nodeExits: string[];
  peak: { redisClients: number; nodeConnections: Record<string, number>; keys: number; usedMemoryBytes: number };
  series: SeriesVerdict[];
  samples: SoakSample[];
  ok: boolean;
}

export function soakViolations(r: SoakReport): string[] {
  const out: string[] = [];
  if (!r.drained) out.push(`not drained: ${r.drainError ?? 'unknown'}`);
  for (const [name, count] of [['lost', r.checks.lost], ['unexpected', r.checks.unexpected], ['FIFO', r.checks.fifo], ['overlap', r.checks.overlap]] as const) {
    if (count > 0) out.push(`${count} ${name} violation(s)`);
  }
  for (const exit of r.nodeExits) out.push(`node exited during the run: ${exit}`);
  for (const s of r.series) if (!s.flat) out.push(`${s.name} not flat after the warm-up: ${s.reason}`);
  return out;
}

const mib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1048576).toFixed(1)} MiB`);
const value = (unit: SeriesVerdict['unit'], v: number | undefined) => (unit === 'bytes' ? mib(v) : v === undefined ? '-' : String(Math.round(v)));

export function soakText(r: SoakReport): string {
  const o = r.options;
  const lines = [
    `soak ${r.runId}: ${o.entities} entities, ${o.nodes} nodes, ${o.rate} adds/s for ${o.minutes} min (one pass over the entities ${round(passMinutes(o.entities, o.rate), 2)} min, warm-up ${round(o.warmupMinutes, 2)} min, sample every ${o.sampleEveryS} s, flat = fitted growth <= ${o.maxGrowthPct} % or later-half peak <= ${+peakLimitPct(o.maxGrowthPct).toFixed(1)} % above the earlier half's)`,
    `load: ${r.load.enqueued} jobs enqueued in ${round(r.load.loadPhaseS)} s (${round(r.load.ratePerS)}/s) over ${r.load.entities} entities, ${r.load.completed} completed; ` +
      `enqueue→start p50 ${round(r.load.enqueueToStartMs.p50)} ms, p99 ${round(r.load.enqueueToStartMs.p99)} ms, max ${round(r.load.enqueueToStartMs.max)} ms`,
    `checks: lost ${r.checks.lost}, unexpected ${r.checks.unexpected}, FIFO violations ${r.checks.fifo}, overlap ${r.checks.overlap}, duplicated ${r.checks.duplicated}; drained ${r.drained ? 'yes' : 'NO'}`,
    `peak: ${r.peak.redisClients} Redis clients (per node: ${Object.entries(r.peak.nodeConnections).map(([id, n]) => `${id} ${n}`).join(', ')}), ${r.peak.keys} keys, used_memory ${mib(r.peak.usedMemoryBytes)}`,
    `series after the warm-up (Redis used_memory once ${CAPPED_SHARE * 100} % of the sampled event streams were trimmed; first → last sample; fitted line start → end, slope/min, ratio; peak of the earlier → later half):`,
    ...r.series.map(
      (s) =>
        `  ${s.flat ? 'flat' : 'NOT FLAT'}  ${s.name} from ${round(s.fromMs / 60_000, 1)} min: ${value(s.unit, s.first)} → ${value(s.unit, s.last)}; fit ${value(s.unit, s.fittedStart)} → ${value(s.unit, s.fittedEnd)}, ` +
        `${s.slopePerMin === undefined ? '-' : `${value(s.unit, s.slopePerMin)}/min`}, ratio ${s.ratio === undefined ? '-' : s.ratio.toFixed(3)}; peaks ${value(s.unit, s.peakEarlier)} → ${value(s.unit, s.peakLater)} (${s.points} samples)${s.reason ? ` — ${s.reason}` : ''}`,
    ),
  ];
  for (const e of r.checks.examples) lines.push(`  e.g. ${e}`);
  lines.push(r.ok ? 'SOAK OK' : `SOAK FAILED: ${soakViolations(r).join('; ')}`);
  return `${lines.join('\n')}\n`;
}
