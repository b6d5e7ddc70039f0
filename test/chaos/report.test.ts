import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtml, timelineSvg } from '../../chaos/report/html.js';
import { TABLE_COLUMNS, formatTable } from '../../chaos/report/table.js';
import { writeReports } from '../../chaos/report/write.js';
import type { ChaosReport, ScenarioResult } from '../../chaos/result.js';

const result = (over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  scenario: 'latency',
  title: 'latency <toxic> & co',
  expectViolations: false,
  target: 'node-2',
  fault: { injectedAt: 2000, healedAt: 6500, details: 'latency/upstream {"latency":2500}' },
  startedAt: 1000,
  endedAt: 11000,
  jobs: 420,
  executions: 431,
  completed: 420,
  lost: 0,
  unexpected: 0,
  duplicates: 3,
  duplicatesAllowed: 3,
  fifoViolations: 0,
  overlaps: 0,
  rejectedWrites: 1,
  staleTokenOverlaps: 0,
  dataLossAllowedByConfig: 0,
  recoveryMs: 812.4,
  drained: true,
  timeline: { bucketMs: 1000, buckets: Array.from({ length: 10 }, (_, i) => ({ t: i * 1000, completed: i === 3 ? 0 : 40, failed: i === 3 ? 2 : 0, crashed: 0, rejected: 0, addErrors: 0 })) },
  samples: [],
  verdict: 'PASS',
  reasons: [],
  durationMs: 14_000,
  ...over,
});

const failing = result({
  scenario: 'self-test:concurrency-2',
  expectViolations: true,
  fifoViolations: 5,
  overlaps: 7,
  verdict: 'PASS',
  reasons: ['unsafe configuration detected: 5 FIFO violations, 7 applied overlaps'],
  samples: ['overlap: order/1 job <j-1>'],
  staleTokenOverlaps: 3,
});

const report: ChaosReport = {
  generatedAt: '2026-11-28T23:00:00.000Z',
  profile: 'ci',
  nodes: 3,
  toxiproxyVersion: '2.12.0',
  redisPersistence: 'redis-restart: AOF appendfsync always',
  ok: false,
  results: [result(), failing, result({ scenario: 'partition', lost: 2, verdict: 'FAIL', reasons: ['2 lost'] })],
};

describe('stdout table', () => {
  it('has the issue columns and one aligned row per scenario, with notes for reasons', () => {
    const lines = formatTable(report.results).split('\n');
    expect(lines[0]!.split('|').map((s) => s.trim())).toEqual([...TABLE_COLUMNS]);
    const latency = lines[2]!.split('|').map((s) => s.trim());
    expect(latency).toEqual(['latency', '420', '0', '0', '3 (3 allowed)', '0', '0', '812', 'PASS']);
    expect(lines[3]).toContain('PASS (self-test)');
    expect(lines[4]!.split('|').map((s) => s.trim())[8]).toBe('FAIL');
    expect(new Set(lines.slice(0, 5).map((l) => l.length)).size).toBe(1);
    expect(lines).toContain('  partition: 2 lost');
    expect(lines).toContain('  self-test:concurrency-2: 3 overlaps where the execution that started first took the newer fencing token (its late write was accepted)');
    expect(lines).toContain('  latency: 1 late writes rejected by the fencing sink');
    expect(lines.filter((l) => l.includes('took the newer fencing token'))).toHaveLength(1);
  });
});

describe('HTML report', () => {
  it('is self-contained, escapes text and draws a timeline with the fault window per scenario', () => {
    const html = renderHtml(report);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//);
    expect(html).toContain('latency &lt;toxic&gt; &amp; co');
    expect(html).toContain('job &lt;j-1&gt;');
    expect(html.match(/<svg class="timeline"/g)).toHaveLength(3);
    expect(html.match(/<section id="s-/g)).toHaveLength(3);
    expect(html).toContain('>FAIL</span></h1>');
  });

  it('places the fault window at its offset from the load start', () => {
    const svg = timelineSvg(result());
    const rect = /<rect class="fault" x="([\d.]+)" y="\d+" width="([\d.]+)"/.exec(svg);
    expect(rect).not.toBeNull();
    // 720 px wide, 32 px padding each side, 10 s span: 1 s offset → 32 + 65.6; 4.5 s → 295.2 px
    expect(Number(rect![1])).toBeCloseTo(97.6, 1);
    expect(Number(rect![2])).toBeCloseTo(295.2, 1);
    // the throughput line dips in bucket 3 (x = 32 + 656 * 3.5 / 10)
    expect(svg).toContain('261.6,128.0');
    expect(timelineSvg(result({ fault: undefined }))).not.toContain('class="fault"');
  });
});

describe('report files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aq-chaos-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes report.json (round-trips) and report.html', () => {
    const paths = writeReports(report, join(dir, 'out', 'report.json'), join(dir, 'out', 'report.html'));
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(report);
    expect(readFileSync(paths.html, 'utf8')).toBe(renderHtml(report));
  });
});
