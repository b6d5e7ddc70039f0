import type { LoadAnalysis } from './analysis.js';
import type { LoadProfile, ThresholdResult } from './scenarios.js';
import type { Distribution } from '../../toolkit/report/stats.js';
import { round } from '../../toolkit/report/stats.js';
import { barChart, escapeXml, lineChart } from '../../toolkit/report/svg.js';

export interface NodeFigures {
  id: string;
  pid: number;
  rssBytes?: number;
  heapUsedBytes?: number;
  redisConnections: number;
  byName: Record<string, number>;
}

export interface CheckOutcome {
  name: string;
  ok: boolean;
  violations: number;
  /** First violations, human readable. */
  examples: string[];
}

export interface LoadReport {
  runId: string;
  startedAt: string;
  profile: string;
  options: LoadProfile;
  /**
   * rejected = answered with a non-201 status; errors = no reply (dropped connection, timeout) except each
   * producer's last request; requests − accepted − rejected − errors were in flight when a phase ended.
   */
  enqueue: { requests: number; accepted: number; rejected: number; errors: number };
  analysis: LoadAnalysis;
  thresholds: ThresholdResult[];
  checks: CheckOutcome[];
  nodes: NodeFigures[];
  redisClientsTotal: number;
  ok: boolean;
}

/** Failed checks and thresholds, one line each (empty when the run passed). */
export function reportViolations(report: Pick<LoadReport, 'checks' | 'thresholds'>): string[] {
  return [
    ...report.checks.filter((c) => !c.ok).map((c) => `check ${c.name}: ${c.violations} violation(s)${c.examples.length ? ` e.g. ${c.examples[0]}` : ''}`),
    ...report.thresholds.filter((t) => !t.ok).map((t) => `threshold ${t.name} ${t.limit}: got ${round(t.value, 3)}`),
  ];
}

const mb = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1048576).toFixed(1)} MiB`);
const ms = (d: Distribution): string[] => [d.p50, d.p95, d.p99, d.max].map((v) => (Number.isFinite(v) ? `${round(v)} ms` : '-'));

export function reportText(r: LoadReport): string {
  const a = r.analysis;
  const lines = [
    `run ${r.runId} (profile ${r.profile}: ${r.options.entities} entities, ${r.options.rate}/s for ${r.options.durationS}s, ${r.options.nodes} nodes, hot ${r.options.hotVus}×${r.options.hotIterations})`,
    `enqueue: ${r.enqueue.accepted}/${r.enqueue.requests} accepted, ${r.enqueue.rejected} rejected, ${r.enqueue.errors} errors`,
    `completed ${a.completed} jobs in ${round(a.windowMs / 1000)} s = ${round(a.throughputPerS)} jobs/s; per entity p50 ${round(a.perEntityThroughput.p50, 2)} jobs/s`,
    `latency           p50 / p95 / p99 / max`,
    `  enqueue (HTTP)  ${ms(a.enqueueHttp).join(' / ')}`,
    `  enqueue→start   ${ms(a.enqueueToStart).join(' / ')}`,
    `  end-to-end      ${ms(a.endToEnd).join(' / ')}`,
    ...r.nodes.map((n) => `node ${n.id} pid ${n.pid}: rss ${mb(n.rssBytes)}, heap ${mb(n.heapUsedBytes)}, ${n.redisConnections} Redis connections ${JSON.stringify(n.byName)}`),
    `Redis clients in total: ${r.redisClientsTotal}`,
    ...r.checks.map((c) => `${c.ok ? 'PASS' : 'FAIL'} ${c.name}${c.ok ? '' : `: ${c.violations} (${c.examples.slice(0, 3).join('; ')})`}`),
    ...r.thresholds.map((t) => `${t.ok ? 'PASS' : 'FAIL'} ${t.name} ${t.limit} (got ${round(t.value, 3)})`),
    r.ok ? 'RESULT: OK' : 'RESULT: VIOLATIONS',
  ];
  return `${lines.join('\n')}\n`;
}

function table(head: string[], rows: (string | number)[][]): string {
  const th = head.map((h) => `<th>${escapeXml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(String(c))}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

/** Self-contained HTML page (inline CSS and SVG, no scripts, no external assets). */
export function reportHtml(r: LoadReport): string {
  const a = r.analysis;
  const latencyRows = (
    [
      ['enqueue (HTTP)', a.enqueueHttp],
      ['enqueue → start', a.enqueueToStart],
      ['end-to-end', a.endToEnd],
    ] as const
  ).map(([name, d]) => [name, d.count, ...ms(d)]);
  const charts = [
    lineChart(a.throughputSeries, { title: 'Throughput over time', xLabel: 'seconds since first enqueue', yLabel: 'jobs completed / s' }),
    barChart(
      a.latencyHistogram.map((b) => ({ label: `${Math.round(b.from)}`, value: b.count })),
      { title: 'End-to-end latency histogram', xLabel: 'ms (bin start)', yLabel: 'jobs' },
    ),
    barChart(a.entityLag, { title: 'Per-entity lag (p95 enqueue → start, worst entities)', xLabel: 'entity', yLabel: 'ms' }),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>atomic-queues load ${escapeXml(r.runId)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse;margin:8px 0 20px}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f4f6}td:first-child{text-align:left}
.ok{color:#15803d}.bad{color:#b91c1c}svg{display:block;margin:12px 0}</style></head><body>
<h1>atomic-queues load run <code>${escapeXml(r.runId)}</code></h1>
<p class="${r.ok ? 'ok' : 'bad'}"><strong>${r.ok ? 'OK: no violation' : 'VIOLATIONS'}</strong> — started ${escapeXml(r.startedAt)}, profile ${escapeXml(r.profile)}</p>
${table(['option', 'value'], Object.entries(r.options).map(([k, v]) => [k, String(v)]))}
<h2>Throughput</h2>
${table(['enqueued', 'accepted', 'rejected', 'errors', 'completed', 'window s', 'jobs/s', 'per-entity jobs/s p50', 'p95'], [[r.enqueue.requests, r.enqueue.accepted, r.enqueue.rejected, r.enqueue.errors, a.completed, round(a.windowMs / 1000), round(a.throughputPerS), round(a.perEntityThroughput.p50, 2), round(a.perEntityThroughput.p95, 2)]])}
<h2>Latency</h2>
${table(['measure', 'samples', 'p50', 'p95', 'p99', 'max'], latencyRows)}
<h2>Checks</h2>
${table(['check', 'result', 'violations', 'examples'], [...r.checks.map((c) => [c.name, c.ok ? 'PASS' : 'FAIL', c.violations, c.examples.slice(0, 3).join('; ')]), ...r.thresholds.map((t) => [`threshold ${t.name} ${t.limit}`, t.ok ? 'PASS' : 'FAIL', round(t.value, 3), ''])])}
<h2>Nodes</h2>
${table(['node', 'pid', 'RSS', 'heap used', 'Redis connections', 'by client name'], r.nodes.map((n) => [n.id, n.pid, mb(n.rssBytes), mb(n.heapUsedBytes), n.redisConnections, JSON.stringify(n.byName)]))}
<p>Redis clients in total (including the driver's own): ${r.redisClientsTotal}</p>
<h2>Charts</h2>
${charts.join('\n')}
</body></html>
`;
}
