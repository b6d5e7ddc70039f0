import { describe, expect, it } from 'vitest';
import type { JobExecution } from '@nestjs/atomic-queues/testing';
import { analyzeLoad, type ProducedJob } from '../../load/lib/analysis.js';
import { summaryText, thresholdOutcomes } from '../../load/lib/k6-summary.js';
import { reportHtml, reportText, reportViolations, type LoadReport } from '../../load/lib/report.js';
import { PROFILES } from '../../load/lib/scenarios.js';

const exec = (entityId: string, seq: number, start: number, end: number, outcome: JobExecution['outcome'] = 'completed'): JobExecution => ({
  entityType: 'load', entityId, queue: `load-${entityId}-queue`, jobId: `${entityId}-${seq}`, jobName: 'load-step',
  seq, worker: `load-${entityId}-worker`, attempt: 1, start, end, outcome,
});
const sent = (entityId: string, seq: number, sentAt: number, ackAt?: number): ProducedJob => ({
  entityType: 'load', entityId, seq, sentAt, ackAt, jobId: `${entityId}-${seq}`, status: ackAt === undefined ? 0 : 201,
});

describe('analyzeLoad', () => {
  const produced = [sent('a', 0, 0, 5), sent('a', 1, 10, 12), sent('b', 0, 0, 4), sent('b', 1, 20)];
  const executions = [
    exec('a', 0, 50, 60, 'failed'), exec('a', 0, 70, 80), exec('a', 1, 90, 1000), exec('b', 0, 30, 40),
    exec('b', 1, 40, 45), // not acknowledged: ignored
  ];
  const a = analyzeLoad(executions, produced, { bucketMs: 500 });

  it('measures enqueue→start from the first attempt and end-to-end from the completed one', () => {
    expect(a.completed).toBe(3);
    expect(a.enqueueToStart.count).toBe(3);
    expect([a.enqueueToStart.min, a.enqueueToStart.max]).toEqual([30, 80]);
    expect([a.endToEnd.min, a.endToEnd.max]).toEqual([40, 990]);
    expect(a.enqueueHttp.max).toBe(5);
  });

  it('derives throughput, its series and the worst entity lag', () => {
    expect(a.windowMs).toBe(1000);
    expect(a.throughputPerS).toBe(3);
    expect(a.throughputSeries).toEqual([2, 0, 1]);
    expect(a.entityLag[0]).toEqual({ label: 'load/a', value: 80 });
  });
});

describe('reports', () => {
  const analysis = analyzeLoad([exec('a', 0, 50, 60)], [sent('a', 0, 0, 5)]);
  const report: LoadReport = {
    runId: 'run-<1>', startedAt: '2026-01-01T00:00:00Z', profile: 'smoke', options: PROFILES.smoke,
    enqueue: { requests: 1, accepted: 1, rejected: 0, errors: 0 }, analysis,
    thresholds: [{ name: 'enqueue_rejected', limit: '<= 0', value: 0, ok: true }],
    checks: [{ name: 'fifo', ok: false, violations: 2, examples: ['load/a seq 1 before 0'] }],
    nodes: [{ id: 'node-1', pid: 42, rssBytes: 50 * 1048576, redisConnections: 7, byName: { 'bull:*': 6 } }],
    redisClientsTotal: 9, ok: false,
  };

  it('lists violations and renders text', () => {
    expect(reportViolations(report)).toEqual(['check fifo: 2 violation(s) e.g. load/a seq 1 before 0']);
    expect(reportText(report)).toContain('FAIL fifo: 2');
    expect(reportText(report)).toContain('node node-1 pid 42: rss 50.0 MiB, heap -, 7 Redis connections');
  });

  it('renders a self-contained, escaped HTML page with three SVG charts', () => {
    const html = reportHtml(report);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('run-&lt;1&gt;');
    expect(html).not.toMatch(/<script|src="http|href="http/);
  });
});

describe('k6 summary digest', () => {
  const data = {
    metrics: {
      enqueue_latency: { type: 'trend', values: { 'p(95)': 12.345, med: 3 }, thresholds: { 'p(95)<250': { ok: true } } },
      enqueue_rejected: { type: 'counter', values: { count: 2, rate: 0.1 }, thresholds: { 'count<=0': { ok: false } } },
    },
  };

  it('reports each threshold outcome and the metric values', () => {
    expect(thresholdOutcomes(data)).toEqual([
      { metric: 'enqueue_latency', threshold: 'p(95)<250', ok: true },
      { metric: 'enqueue_rejected', threshold: 'count<=0', ok: false },
    ]);
    const text = summaryText(data, ['enqueue_latency', 'missing']);
    expect(text).toContain('enqueue_latency: med=3 p(95)=12.35');
    expect(text).toContain('missing: no samples');
    expect(text).toContain('✗ enqueue_rejected count<=0');
  });
});
