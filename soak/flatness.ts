import type { EventStreamsSample } from '../toolkit/sampling/event-streams.js';
import type { RedisServerSample } from '../toolkit/sampling/redis-info.js';
import { linearTrend } from '../toolkit/report/stats.js';

/** One sample of the soak: every node's RSS and Redis connections, and what the Redis server holds. */
export interface SoakSample {
  /** ms since the load phase started. */
  atMs: number;
  nodes: Array<{ id: string; pid: number; running: boolean; rssBytes?: number; redisConnections: number }>;
  redis: RedisServerSample;
  /** A fixed sample of the entities' BullMQ event streams (absent when not sampled). */
  eventStreams?: EventStreamsSample;
}

export interface SeriesVerdict {
  /** e.g. `rss node-1`, `redis used_memory`, `redis keys`. */
  name: string;
  unit: 'bytes' | 'keys';
  /** Samples judged (after the warm-up). */
  points: number;
  /** The judged window starts here (ms since the load started): the warm-up's end for this series. */
  fromMs: number;
  /** First and last judged values (raw), and the fitted line's values at both ends. */
  first?: number;
  last?: number;
  fittedStart?: number;
  fittedEnd?: number;
  /** Fitted change per minute. */
  slopePerMin?: number;
  /** fittedEnd / fittedStart. */
  ratio?: number;
  /** Highest value in the earlier and in the later half of the judged window (see `judgeSeries`). */
  peakEarlier?: number;
  peakLater?: number;
  /** How the series passed: a level fit, or peaks that stop rising (a sawtooth such as a trimmed stream). */
  flatBy?: 'fit' | 'peaks';
  flat: boolean;
  /** Why it is not flat (or could not be judged). */
  reason?: string;
}

/** A series to judge, from `fromMs` on (its warm-up's end); `unjudged` says why it cannot be judged at all. */
export interface SoakSeries {
  name: string;
  unit: 'bytes' | 'keys';
  fromMs: number;
  unjudged?: string;
  points: Array<{ atMs: number; value: number | undefined }>;
}

/** Share of the sampled event streams that must have been trimmed once before Redis memory is judged. */
export const CAPPED_SHARE = 0.75;

/**
 * When the entities' event streams reached their cap: the first sample where at least `CAPPED_SHARE` of the
 * sampled streams had been trimmed. Until then every entity's stream grows by design (BullMQ's events, capped by
 * `queueDefaults.eventsMaxLen`), so Redis memory rises whatever else happens; after it, a leak shows as growth.
 */
export function streamsCappedAt(samples: readonly SoakSample[]): number | undefined {
  return samples.find((s) => s.eventStreams && s.eventStreams.trimmed >= CAPPED_SHARE * s.eventStreams.sampled)?.atMs;
}

/** Where Redis memory's judged window starts: after the warm-up and the streams' cap, or why it cannot be judged. */
function memoryWindow(samples: readonly SoakSample[], warmupMs: number): Pick<SoakSeries, 'fromMs' | 'unjudged'> {
  const last = samples.findLast((s) => s.eventStreams)?.eventStreams;
  if (last === undefined) return { fromMs: warmupMs };
  const cappedAt = streamsCappedAt(samples);
  if (cappedAt !== undefined) return { fromMs: Math.max(warmupMs, cappedAt) };
  return {
    fromMs: warmupMs,
    unjudged:
      `the entities' event streams never reached their cap (at the end ${last.trimmed} of ${last.sampled} sampled streams had been trimmed, ` +
      `median length ${last.medianLength}), so Redis memory was still filling by design: run longer or with a higher --rate`,
  };
}

/**
 * The series the soak judges: RSS of every node and Redis' key count after `warmupMs`; Redis used_memory after
 * the later of `warmupMs` and the event streams' cap (when they were sampled).
 */
export function soakSeries(samples: readonly SoakSample[], warmupMs: number): SoakSeries[] {
  const nodeIds = [...new Set(samples.flatMap((s) => s.nodes.map((n) => n.id)))];
  const memory = memoryWindow(samples, warmupMs);
  return [
    ...nodeIds.map((id) => ({
      name: `rss ${id}`,
      unit: 'bytes' as const,
      fromMs: warmupMs,
      points: samples.map((s) => {
        const n = s.nodes.find((x) => x.id === id);
        return { atMs: s.atMs, value: n?.running ? n.rssBytes : undefined };
      }),
    })),
    { name: 'redis used_memory', unit: 'bytes' as const, ...memory, points: samples.map((s) => ({ atMs: s.atMs, value: s.redis.usedMemoryBytes })) },
    { name: 'redis keys', unit: 'keys' as const, fromMs: warmupMs, points: samples.map((s) => ({ atMs: s.atMs, value: s.redis.keys })) },
  ];
}

/**
 * The peak rule's limit: a third of the fit's. A steady climb raises the later half's peak by about half its
 * fitted growth, so with a third this rule passes no climb that the fit fails.
 */
export const peakLimitPct = (maxGrowthPct: number): number => maxGrowthPct / 3;

/** Fewer judged samples than this cannot show a trend. */
export const MIN_JUDGED_SAMPLES = 3;

/**
 * Judges one series after its warm-up (`series.fromMs`). It is flat when either
 * - the least-squares line over the judged samples grows by at most `maxGrowthPct` percent from its start to its
 *   end (a level series with noise), or
 * - its peaks stop rising: the highest value of the later half of the judged window is at most `peakLimitPct`
 *   percent above the highest of the earlier half. A bounded sawtooth (memory freed in batches: a stream trimmed
 *   approximately, a cache swept) passes although its fitted line depends on where the run ends in a tooth.
 * A missing value (node not running, RSS unreadable) fails it.
 */
export function judgeSeries(series: SoakSeries, maxGrowthPct: number): SeriesVerdict {
  const judged = series.points.filter((p) => p.atMs >= series.fromMs);
  const base = { name: series.name, unit: series.unit, points: judged.length, fromMs: series.fromMs };
  if (series.unjudged) return { ...base, flat: false, reason: series.unjudged };
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
  const half = Math.floor(ys.length / 2);
  const peakEarlier = Math.max(...ys.slice(0, half));
  const peakLater = Math.max(...ys.slice(half));
  const peakGrowthPct = peakEarlier > 0 ? (peakLater / peakEarlier - 1) * 100 : Infinity;
  const byFit = Number.isFinite(trend.ratio) && growthPct <= maxGrowthPct;
  const peakLimit = peakLimitPct(maxGrowthPct);
  const byPeaks = peakGrowthPct <= peakLimit;
  const flat = byFit || byPeaks;
  const fitText = Number.isFinite(trend.ratio) ? `grew ${growthPct.toFixed(1)} % over the judged window (limit ${maxGrowthPct} %)` : `fitted start ${trend.fittedStart} <= 0`;
  const peakText = `${Number.isFinite(peakGrowthPct) ? `${peakGrowthPct.toFixed(1)} %` : 'from 0'} above the earlier one (limit ${+peakLimit.toFixed(1)} %)`;
  let verdict: Pick<SeriesVerdict, 'flatBy' | 'reason'>;
  if (byFit) verdict = { flatBy: 'fit' };
  else if (byPeaks) verdict = { flatBy: 'peaks', reason: `${fitText}, but its later peak is ${peakText}: bounded` };
  else verdict = { reason: `${fitText}; later peak ${peakText}` };
  return {
    ...base,
    first: ys[0]!,
    last: ys[ys.length - 1]!,
    fittedStart: trend.fittedStart,
    fittedEnd: trend.fittedEnd,
    slopePerMin: trend.slope * 60_000,
    ratio: trend.ratio,
    peakEarlier,
    peakLater,
    flat,
    ...verdict,
  };
}
