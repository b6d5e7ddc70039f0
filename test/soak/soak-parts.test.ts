import { describe, expect, it } from 'vitest';
import { judgeSeries, soakSeries, streamsCappedAt, type SoakSample } from '../../soak/flatness.js';
import { parseSoakArgs } from '../../soak/options.js';
import { soakText, soakViolations, type SoakReport } from '../../soak/report.js';

const MiB = 1048576;

/** Samples every 10 s; node-1's RSS follows `rss(i)`, Redis keys `keys(i)`. */
function samples(count: number, rss: (i: number) => number | undefined, keys: (i: number) => number = () => 1000): SoakSample[] {
  return Array.from({ length: count }, (_, i) => ({
    atMs: i * 10_000,
    nodes: [{ id: 'node-1', pid: 42, running: rss(i) !== undefined, ...(rss(i) === undefined ? {} : { rssBytes: rss(i)! }), redisConnections: 5 }],
    redis: { usedMemoryBytes: 10 * MiB, usedMemoryRssBytes: 12 * MiB, connectedClients: 9, keys: keys(i) },
  }));
}

describe('soak options', () => {
  it('defaults to 30 minutes, 10,000 entities, 3 nodes', () => {
    expect(parseSoakArgs([])).toMatchObject({ minutes: 30, entities: 10_000, nodes: 3, rate: 600, producers: 1, warmupMinutes: 5, maxGrowthPct: 10, outDir: 'soak/results' });
    expect(parseSoakArgs([]).maxClients).toBeUndefined();
  });

  it('takes a shorter run with a proportional warm-up', () => {
    expect(parseSoakArgs(['--minutes', '2', '--entities', '2000', '--maxclients', '20000'])).toMatchObject({ minutes: 2, entities: 2000, warmupMinutes: 0.5, maxClients: 20_000 });
  });

  it('warms up for at least 1.5 passes over the entities (per-entity state is still being created before)', () => {
    // 10,000 entities at 100/s: one pass = 100 s
    expect(parseSoakArgs(['--minutes', '4', '--rate', '100']).warmupMinutes).toBeCloseTo(2.5, 6);
    expect(() => parseSoakArgs(['--minutes', '2', '--rate', '100'])).toThrow(
      '--warmup-minutes (2.5) must be shorter than --minutes (2); by default the warm-up covers 1.5 passes over the entities (one pass = 1.67 min at 100/s)',
    );
    expect(parseSoakArgs(['--minutes', '2', '--rate', '100', '--warmup-minutes', '1']).warmupMinutes).toBe(1);
  });

  it('rejects bad values naming the flag and what is accepted', () => {
    expect(() => parseSoakArgs(['--minutes', '0'])).toThrow('--minutes "0" is invalid; accepted values: a number > 0');
    expect(() => parseSoakArgs(['--entities', '1.5'])).toThrow('--entities "1.5" is invalid; accepted values: an integer >= 1');
    expect(() => parseSoakArgs(['--minutes', '2', '--warmup-minutes', '2'])).toThrow('--warmup-minutes (2) must be shorter than --minutes (2)');
    expect(() => parseSoakArgs(['--rate', '100', '--producers', '3'])).toThrow('--rate (100/s) must be a multiple of --producers (3)');
    expect(() => parseSoakArgs(['--entities', '2', '--producers', '3'])).toThrow('--producers (3) must not exceed --entities (2)');
    expect(() => parseSoakArgs(['--speed', '1'])).toThrow(/Unknown option '--speed'[\s\S]*usage: npm run soak/);
  });
});

describe('soak flatness', () => {
  const judge = (s: SoakSample[], name: string) => judgeSeries(soakSeries(s, 60_000).find((x) => x.name === name)!, 10);

  it('ignores the warm-up and accepts noise around a flat level', () => {
    // doubles during the first minute, then oscillates ±3 % around 200 MiB
    const v = judge(samples(30, (i) => (i < 6 ? (100 + i * 20) * MiB : (200 + (i % 2 ? 6 : -6)) * MiB)), 'rss node-1');
    expect(v).toMatchObject({ flat: true, points: 24 });
    expect(v.ratio!).toBeGreaterThan(0.95);
    expect(v.ratio!).toBeLessThan(1.05);
  });

  it('fails a steady climb after the warm-up with its growth and slope', () => {
    const v = judge(samples(30, () => 100 * MiB, (i) => 1000 + i * 20), 'redis keys');
    expect(v.flat).toBe(false);
    expect(v.slopePerMin).toBeCloseTo(120, 6);
    expect(v.reason).toMatch(/^grew 4\d\.\d % over the judged window \(limit 10 %\); later peak 17\.9 % above the earlier one \(limit 3\.3 %\)$/);
  });

  it('passes a bounded sawtooth whose fitted line still rises, and fails one whose peaks keep rising', () => {
    // A stream trimmed in batches: fills from 50 to 140 MiB by the middle of the run, then drops and refills
    // between 90 and 140 MiB. The run ends low, yet the line fitted over a window starting at 50 rises steeply.
    const tooth = (i: number) => (i < 15 ? 50 + i * 6 : 90 + ((i - 15) % 6) * 10) * MiB;
    const bounded = judge(samples(40, tooth), 'rss node-1');
    expect(bounded.ratio!).toBeGreaterThan(1.1);
    expect(bounded).toMatchObject({ flat: true, flatBy: 'peaks', peakEarlier: 140 * MiB, peakLater: 140 * MiB });
    expect(bounded.reason).toMatch(/, but its later peak is 0\.0 % above the earlier one \(limit 3\.3 %\): bounded$/);
    // The same teeth on a climbing base: the later peaks are higher (a leak freed in batches).
    const leaking = judge(samples(40, (i) => tooth(i) + i * 2 * MiB), 'rss node-1');
    expect(leaking.flat).toBe(false);
    expect(leaking.reason).toMatch(/later peak \d+\.\d % above the earlier one \(limit 3\.3 %\)$/);
    // A level series passes by its fit.
    expect(judge(samples(30, () => 100 * MiB), 'rss node-1').flatBy).toBe('fit');
  });

  it('fails a node that stopped running and a window too short to judge', () => {
    expect(judge(samples(30, (i) => (i === 20 ? undefined : 100 * MiB)), 'rss node-1')).toMatchObject({
      flat: false,
      reason: 'no value in 1 sample(s) (first at 200 s): process not running or unreadable',
    });
    expect(judge(samples(8, () => 100 * MiB), 'redis used_memory')).toMatchObject({ flat: false, points: 2 });
  });
});

describe('soak flatness of Redis memory while the event streams fill', () => {
  /** Redis memory rises while the 32 sampled streams fill (10 min), then a trimmed sawtooth between 90 and 128 MiB. */
  const filling = (count: number, trimmedFrom: number | undefined) =>
    samples(count, () => 100 * MiB).map((s, i) => ({
      ...s,
      redis: { ...s.redis, usedMemoryBytes: (i < 60 ? 50 + i : 90 + ((i - 60) % 20) * 2) * MiB },
      eventStreams: { sampled: 32, trimmed: trimmedFrom !== undefined && i >= trimmedFrom ? Math.min(32, (i - trimmedFrom + 1) * 8) : 0, medianLength: Math.min(100, i * 2) },
    }));
  const memory = (s: SoakSample[]) => soakSeries(s, 60_000).find((x) => x.name === 'redis used_memory')!;

  it('judges Redis memory from when three quarters of the sampled streams were trimmed, other series from the warm-up', () => {
    const s = filling(120, 58);
    expect(streamsCappedAt(s)).toBe(600_000); // the fourth sample from 58: 32 of 32 ≥ 24
    expect(memory(s).fromMs).toBe(600_000);
    expect(judgeSeries(memory(s), 10)).toMatchObject({ flat: true, fromMs: 600_000 });
    expect(soakSeries(s, 60_000).find((x) => x.name === 'redis keys')!.fromMs).toBe(60_000);
    // Judged from the warm-up alone, the filling streams read as a leak.
    expect(judgeSeries({ ...memory(s), fromMs: 60_000 }, 10).flat).toBe(false);
  });

  it('keeps the warm-up when it ends after the streams were capped', () => {
    expect(memory(filling(120, 0)).fromMs).toBe(60_000);
  });

  it('does not judge Redis memory when the streams never reached their cap, and says what to change', () => {
    const v = judgeSeries(memory(filling(50, undefined)), 10);
    expect(v).toMatchObject({ flat: false, points: 44 });
    expect(v.reason).toBe(
      "the entities' event streams never reached their cap (at the end 0 of 32 sampled streams had been trimmed, median length 98), " +
        'so Redis memory was still filling by design: run longer or with a higher --rate',
    );
  });

  it('judges Redis memory from the warm-up when no stream was sampled', () => {
    expect(memory(samples(30, () => 100 * MiB)).fromMs).toBe(60_000);
  });
});

describe('soak report', () => {
  const base = (over: Partial<SoakReport>): SoakReport => {
    const s = samples(30, () => 100 * MiB);
    return {
      runId: 'soak-x', startedAt: '2026-01-01T00:00:00Z', options: parseSoakArgs(['--minutes', '5']), runDir: '/tmp/x',
      load: { enqueued: 100, ratePerS: 1, loadPhaseS: 100, completed: 100, entities: 10, enqueueToStartMs: { count: 100, min: 1, mean: 5, p50: 4, p95: 9, p99: 12, max: 20 }, completedPerMinute: [60, 40] },
      drained: true, checks: { lost: 0, unexpected: 0, fifo: 0, overlap: 0, duplicated: 0, examples: [] }, nodeExits: [],
      peak: { redisClients: 9, nodeConnections: { 'node-1': 5 }, keys: 1000, usedMemoryBytes: 10 * MiB },
      series: soakSeries(s, 60_000).map((x) => judgeSeries(x, 10)), samples: s, ok: true, ...over,
    };
  };

  it('passes a clean, flat run', () => {
    expect(soakViolations(base({}))).toEqual([]);
    expect(soakText(base({}))).toMatch(/checks: lost 0, unexpected 0, FIFO violations 0, overlap 0[\s\S]*flat {2}rss node-1 from 1 min: 100\.0 MiB → 100\.0 MiB[\s\S]*SOAK OK\n$/);
  });

  it('lists lost jobs, FIFO violations, a crashed node and an undrained run', () => {
    const r = base({ drained: false, drainError: 'waitForDrain: 3 not completed', checks: { lost: 3, unexpected: 0, fifo: 2, overlap: 0, duplicated: 0, examples: ['order/e-1 seq 2 before 1'] }, nodeExits: ['node-2 (pid 7)'], ok: false });
    expect(soakViolations(r)).toEqual(['not drained: waitForDrain: 3 not completed', '3 lost violation(s)', '2 FIFO violation(s)', 'node exited during the run: node-2 (pid 7)']);
    expect(soakText(r)).toContain('e.g. order/e-1 seq 2 before 1');
    expect(soakText(r)).toMatch(/SOAK FAILED: not drained/);
  });
});
