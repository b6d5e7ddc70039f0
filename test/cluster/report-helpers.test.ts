import { describe, expect, it } from 'vitest';
import { countPerBucket, distribution, histogram, linearTrend, percentile } from '../../toolkit/report/stats.js';
import { barChart, lineChart } from '../../toolkit/report/svg.js';

describe('stats', () => {
  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 50), percentile(v, 95), percentile(v, 99), percentile(v, 100), percentile(v, 0)]).toEqual([50, 95, 99, 100, 1]);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
    expect(() => percentile(v, 101)).toThrow(/p must be in \[0, 100\], got 101/);
    expect(distribution([3, 1, 2])).toMatchObject({ count: 3, min: 1, max: 3, mean: 2, p50: 2 });
  });

  it('bins values and counts events per time bucket', () => {
    expect(histogram([0, 1, 2, 3, 4, 10], 2).map((b) => b.count)).toEqual([5, 1]);
    expect(histogram([5, 5], 3).map((b) => b.count)).toEqual([2, 0, 0]);
    expect(countPerBucket([1000, 1500, 3100, 900], 1000, 1000)).toEqual([2, 0, 1]);
    expect(() => histogram([1], 0)).toThrow(/bins must be a positive integer/);
  });
});

describe('linearTrend', () => {
  it('fits a line and reports the growth over the window', () => {
    const flat = linearTrend([0, 1, 2, 3], [100, 101, 99, 100]);
    expect(flat.slope).toBeCloseTo(-0.2, 6);
    expect(flat.ratio).toBeCloseTo(99.7 / 100.3, 6);
    const growing = linearTrend([0, 60, 120], [100, 130, 160]);
    expect(growing).toMatchObject({ slope: 0.5, fittedStart: 100, fittedEnd: 160, ratio: 1.6, points: 3 });
    expect(Number.isNaN(linearTrend([0, 1], [0, 5]).ratio)).toBe(true);
  });

  it('rejects inputs it cannot fit', () => {
    expect(() => linearTrend([1], [1])).toThrow('linearTrend needs at least 2 points, got 1');
    expect(() => linearTrend([1, 1], [1, 2])).toThrow('at least 2 distinct x values');
    expect(() => linearTrend([1, 2], [1])).toThrow('2 x values for 1 y values');
  });
});

describe('svg charts', () => {
  it('draws one point per value and one bar per bar', () => {
    expect(lineChart([1, 2, 3], { title: 't', xLabel: 'x', yLabel: 'y' })).toMatch(/points="(\S+ ){2}\S+"/);
    expect(barChart([{ label: 'a', value: 1 }, { label: 'b', value: 0 }], { title: 't', xLabel: 'x', yLabel: 'y' }).match(/<rect /g)).toHaveLength(2);
  });
});
