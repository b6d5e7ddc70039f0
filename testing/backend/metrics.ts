import { rangeByIndex } from './sorted-set.js';

export type MetricsType = 'completed' | 'failed';

const MINUTE = 60_000;

/** One `metrics:<type>` hash and its `:data` list (newest point first). */
interface MetricsSeries {
  count: number;
  prevTS?: number;
  prevCount: number;
  data: number[];
}

/**
 * The finished-job metrics of one queue, collected per minute of the store's clock exactly as BullMQ's
 * collectMetrics.lua (run by moveToFinished when the Worker has `metrics.maxDataPoints`): every finished job bumps
 * `count`; when a job finishes in a later minute than `prevTS`, the jobs counted since go in as one data point,
 * followed by a 0 for every minute without a finish, and the list is trimmed to `maxDataPoints`.
 * A job is counted in the data point of the next minute that sees a finish, as on Redis.
 */
export class QueueMetrics {
  private readonly series = new Map<MetricsType, MetricsSeries>();

  /** collectMetrics.lua for one finished job at `timestamp` (clock ms). */
  collect(type: MetricsType, maxDataPoints: number, timestamp: number): void {
    let s = this.series.get(type);
    if (!s) {
      s = { count: 0, prevCount: 0, data: [] };
      this.series.set(type, s);
    }
    const count = s.count;
    s.count += 1;
    if (s.prevTS === undefined) {
      s.prevTS = timestamp;
      s.prevCount = 0;
      return;
    }
    const points = Math.min(Math.floor(timestamp / MINUTE) - Math.floor(s.prevTS / MINUTE), maxDataPoints);
    if (points <= 0) return;
    const delta = count - s.prevCount;
    // LPUSH delta, 0, 0, …: the zeros (minutes with no finish) end up in front of the delta.
    s.data.unshift(...new Array<number>(points - 1).fill(0), delta);
    s.data.length = Math.min(s.data.length, Math.max(0, maxDataPoints));
    s.prevCount = count;
    s.prevTS = timestamp;
  }

  /** getMetrics.lua: [HMGET count prevTS prevCount, LRANGE data start end, LLEN data]. */
  get(type: MetricsType, start: number, end: number): [(string | null)[], string[], number] {
    const s = this.series.get(type);
    if (!s) return [[null, null, null], [], 0];
    const meta = [String(s.count), s.prevTS === undefined ? null : String(s.prevTS), s.prevTS === undefined ? null : String(s.prevCount)];
    return [meta, rangeByIndex(s.data, start, end).map(String), s.data.length];
  }

  clear(): void {
    this.series.clear();
  }
}
