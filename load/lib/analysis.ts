import type { JobExecution } from '@nestjs/atomic-queues/testing';
import { countPerBucket, distribution, histogram, percentile, type Distribution, type HistogramBin } from '../../toolkit/report/stats.js';
import type { Bar } from '../../toolkit/report/svg.js';

/** What a producer sent: one enqueue request, with its outcome. Times are Date.now() on the same machine. */
export interface ProducedJob {
  entityType: string;
  entityId: string;
  seq: number;
  sentAt: number;
  /** Set when the app acknowledged the enqueue (HTTP 201). */
  ackAt?: number;
  jobId?: string;
  /** HTTP status; 0 when no reply arrived. */
  status: number;
}

export interface LoadAnalysis {
  completed: number;
  /** First send to last completion. */
  windowMs: number;
  throughputPerS: number;
  /** Completed jobs per `bucketMs`, from the first send. */
  throughputSeries: number[];
  perEntityThroughput: Distribution;
  /** Sent → first start of the job (queueing + pickup). */
  enqueueToStart: Distribution;
  /** Sent → end of the completed execution. */
  endToEnd: Distribution;
  /** HTTP enqueue round trip. */
  enqueueHttp: Distribution;
  latencyHistogram: HistogramBin[];
  /** Entities with the highest p95 enqueue→start, worst first. */
  entityLag: Bar[];
}

const key = (entityType: string, entityId: string, seq: number | undefined): string => `${entityType}/${entityId}#${seq}`;

export function analyzeLoad(
  executions: readonly JobExecution[],
  produced: readonly ProducedJob[],
  options: { bucketMs?: number; lagTop?: number; histogramBins?: number } = {},
): LoadAnalysis {
  const bucketMs = options.bucketMs ?? 1000;
  const sent = new Map<string, ProducedJob>();
  for (const p of produced) if (p.ackAt !== undefined) sent.set(key(p.entityType, p.entityId, p.seq), p);

  const firstStart = new Map<string, number>();
  const completedEnd = new Map<string, number>();
  for (const e of executions) {
    const k = key(e.entityType, e.entityId, e.seq);
    if (!sent.has(k)) continue;
    firstStart.set(k, Math.min(firstStart.get(k) ?? Infinity, e.start));
    if (e.outcome === 'completed' && e.end !== undefined) completedEnd.set(k, Math.min(completedEnd.get(k) ?? Infinity, e.end));
  }

  const toStart: number[] = [];
  const lagByEntity = new Map<string, number[]>();
  for (const [k, start] of firstStart) {
    const p = sent.get(k)!;
    const lag = start - p.sentAt;
    toStart.push(lag);
    const ek = `${p.entityType}/${p.entityId}`;
    (lagByEntity.get(ek) ?? lagByEntity.set(ek, []).get(ek)!).push(lag);
  }
  const endToEnd: number[] = [];
  const perEntity = new Map<string, { count: number; first: number; last: number }>();
  for (const [k, end] of completedEnd) {
    const p = sent.get(k)!;
    endToEnd.push(end - p.sentAt);
    const ek = `${p.entityType}/${p.entityId}`;
    const s = perEntity.get(ek) ?? { count: 0, first: p.sentAt, last: end };
    s.count += 1;
    s.first = Math.min(s.first, p.sentAt);
    s.last = Math.max(s.last, end);
    perEntity.set(ek, s);
  }

  const origin = Math.min(...produced.map((p) => p.sentAt));
  const lastEnd = Math.max(origin, ...completedEnd.values());
  const windowMs = produced.length === 0 ? 0 : lastEnd - origin;
  const entityLag = [...lagByEntity]
    .map(([label, lags]) => ({ label, value: percentile([...lags].sort((a, b) => a - b), 95) }))
    .sort((a, b) => b.value - a.value)
    .slice(0, options.lagTop ?? 40);

  return {
    completed: completedEnd.size,
    windowMs,
    throughputPerS: windowMs > 0 ? (completedEnd.size * 1000) / windowMs : 0,
    throughputSeries: produced.length === 0 ? [] : countPerBucket([...completedEnd.values()], origin, bucketMs),
    perEntityThroughput: distribution([...perEntity.values()].map((s) => (s.count * 1000) / Math.max(1, s.last - s.first))),
    enqueueToStart: distribution(toStart),
    endToEnd: distribution(endToEnd),
    enqueueHttp: distribution(produced.filter((p) => p.ackAt !== undefined).map((p) => p.ackAt! - p.sentAt)),
    latencyHistogram: histogram(endToEnd, options.histogramBins ?? 30),
    entityLag,
  };
}
