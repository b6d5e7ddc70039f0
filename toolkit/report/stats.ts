/** Small statistics helpers for load and benchmark reports (nearest-rank percentiles, histograms, buckets). */

export interface Distribution {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array; `p` in [0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new Error(`percentile p must be in [0, 100], got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Median (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, min: NaN, mean: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

export interface HistogramBin {
  from: number;
  to: number;
  count: number;
}

/** `bins` equal-width bins over [min, max] (the last bin includes max). */
export function histogram(values: readonly number[], bins: number): HistogramBin[] {
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`bins must be a positive integer, got ${bins}`);
  if (values.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const width = max > min ? (max - min) / bins : 1;
  const out = Array.from({ length: bins }, (_, i) => ({ from: min + i * width, to: min + (i + 1) * width, count: 0 }));
  for (const v of values) out[Math.min(bins - 1, Math.floor((v - min) / width))]!.count += 1;
  return out;
}

/** Counts of `times` per `bucketMs` window starting at `origin` (windows with no event included as 0). */
export function countPerBucket(times: readonly number[], origin: number, bucketMs: number): number[] {
  if (!(bucketMs > 0)) throw new Error(`bucketMs must be > 0, got ${bucketMs}`);
  const counts: number[] = [];
  for (const t of times) {
    const i = Math.floor((t - origin) / bucketMs);
    if (i < 0) continue;
    while (counts.length <= i) counts.push(0);
    counts[i]! += 1;
  }
  return counts;
}

export const round = (v: number, digits = 1): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : v);

export interface Trend {
  /** Least-squares slope: change of y per unit of x. */
  slope: number;
  /** Fitted y at the first and at the last x. */
  fittedStart: number;
  fittedEnd: number;
  /** fittedEnd / fittedStart: 1 = flat, 1.1 = grew 10 % over the window (NaN when fittedStart <= 0). */
  ratio: number;
  points: number;
}

/**
 * Least-squares line through (xs[i], ys[i]): how much a series grows over its window, robust to the noise of
 * single samples (GC, allocator). Needs at least 2 points with distinct x.
 */
export function linearTrend(xs: readonly number[], ys: readonly number[]): Trend {
  if (xs.length !== ys.length) throw new Error(`linearTrend: ${xs.length} x values for ${ys.length} y values`);
  const n = xs.length;
  if (n < 2) throw new Error(`linearTrend needs at least 2 points, got ${n}`);
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  if (sxx === 0) throw new Error('linearTrend needs at least 2 distinct x values');
  const slope = sxy / sxx;
  const at = (x: number) => my + slope * (x - mx);
  const fittedStart = at(Math.min(...xs));
  const fittedEnd = at(Math.max(...xs));
  return { slope, fittedStart, fittedEnd, ratio: fittedStart > 0 ? fittedEnd / fittedStart : Number.NaN, points: n };
}
