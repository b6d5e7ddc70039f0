import type { RedisServerSample } from '../toolkit/sampling/redis-info.js';
import { linearTrend } from '../toolkit/report/stats.js';

/** One sample of the soak: every node's RSS and Redis connections, and what the Redis server holds. */
export interface SoakSample {
  /** ms since the load phase started. */
  atMs: number;
  nodes: Array<{ id: string; pid: number; running: boolean; rssBytes?: number; redisConnections: number }>;
  redis: RedisServerSample;
}

export interface SeriesVerdict {
  /** e.g. `rss node-1`, `redis used_memory`, `redis keys`. */
  name: string;
  unit: 'bytes' | 'keys';
  /** Samples judged (after the warm-up). */
  points: number;
  /** First and last judged values (raw), and the fitted line's values at both ends. */
  first?: number;
  last?: number;
  fittedStart?: number;
  fittedEnd?: number;
  /** Fitted change per minute. */
  slopePerMin?: number;
  /** fittedEnd / fittedStart. */
  ratio?: number;
  flat: boolean;
  /** Why it is not flat (or could not be judged). */
  reason?: string;
}

/** The series the soak judges: RSS of every node, Redis used_memory and key count. */
export function soakSeries(samples: readonly SoakSample[]): Array<{ name: string; unit: 'bytes' | 'keys'; points: Array<{ atMs: number; value: number | undefined }> }> {
  const nodeIds = [...new Set(samples.flatMap((s) => s.nodes.map((n) => n.id)))];
  return [
    ...nodeIds.map((id) => ({
      name: `rss ${id}`,
      unit: 'bytes' as const,
      points: samples.map((s) => {
        const n = s.nodes.find((x) => x.id === id);
        return { atMs: s.atMs, value: n?.running ? n.rssBytes : undefined };
      }),
    })),
    { name: 'redis used_memory', unit: 'bytes' as const, points: samples.map((s) => ({ atMs: s.atMs, value: s.redis.usedMemoryBytes })) },
    { name: 'redis keys', unit: 'keys' as const, points: samples.map((s) => ({ atMs: s.atMs, value: s.redis.keys })) },
  ];
}

/** Fewer judged samples than this cannot show a trend. */
export const MIN_JUDGED_SAMPLES = 3;

/**
 * Judges one series after the warm-up: flat when the least-squares line over the judged samples grows by at most
 * `maxGrowthPct` percent from its start to its end. A missing value (node not running, RSS unreadable) fails it.
 */
export function judgeSeries(
  series: { name: string; unit: 'bytes' | 'keys'; points: ReadonlyArray<{ atMs: number; value: number | undefined }> },
  warmupMs: number,
  maxGrowthPct: number,
): SeriesVerdict {
  const judged = series.points.filter((p) => p.atMs >= warmupMs);
  const base = { name: series.name, unit: series.unit, points: judged.length };
  const missing = judged.filter((p) => p.value === undefined);
  if (missing.length > 0) {
    return { ...base, flat: false, reason: `no value in ${missing.length} sample(s) (first at ${Math.round(missing[0]!.atMs / 1000)} s): process not running or unreadable` };
  }
  if (judged.length < MIN_JUDGED_SAMPLES) {
    return { ...base, flat: false, reason: `${judged.length} sample(s) after the warm-up, ${MIN_JUDGED_SAMPLES} needed: run longer or sample more often` };
  }
  const xs = judged.map((p) => p.atMs);
  const ys = judged.map((p) => p.value!);
  const trend = linearTrend(xs, ys);
  const growthPct = (trend.ratio - 1) * 100;
  const flat = Number.isFinite(trend.ratio) && growthPct <= maxGrowthPct;
  return {
    ...base,
    first: ys[0]!,
    last: ys[ys.length - 1]!,
    fittedStart: trend.fittedStart,
    fittedEnd: trend.fittedEnd,
    slopePerMin: trend.slope * 60_000,
    ratio: trend.ratio,
    flat,
    ...(flat
      ? {}
      : { reason: Number.isFinite(trend.ratio) ? `grew ${growthPct.toFixed(1)} % over the judged window (limit ${maxGrowthPct} %)` : `fitted start ${trend.fittedStart} <= 0` }),
  };
}
