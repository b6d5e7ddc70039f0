import { escapeXml as esc } from '../../toolkit/report/svg.js';
import { bucketErrors } from '../metrics.js';
import { spreadSummary } from './table.js';
import type { ChaosReport, ScenarioResult } from '../result.js';

/**
 * Self-contained HTML report (no external assets): the summary table and, per scenario, an inline SVG timeline
 * of applied completions per bucket (throughput), errors (failed, crashed, rejected late writes) and the shaded
 * fault window.
 */
const W = 720;
const H = 160;
const PAD = 32;

export function timelineSvg(r: ScenarioResult): string {
  const { bucketMs, buckets } = r.timeline;
  const spanMs = Math.max(bucketMs, buckets.length * bucketMs);
  const perSec = (n: number) => (n * 1000) / bucketMs;
  const maxY = Math.max(1, ...buckets.map((b) => perSec(Math.max(b.completed, bucketErrors(b)))));
  const x = (ms: number) => PAD + ((W - 2 * PAD) * ms) / spanMs;
  const y = (v: number) => H - PAD + -((H - 2 * PAD) * v) / maxY;
  const parts: string[] = [];
  if (r.fault) {
    const from = x(r.fault.injectedAt - r.startedAt);
    const to = x(Math.max(r.fault.healedAt, r.fault.injectedAt + bucketMs / 4) - r.startedAt);
    parts.push(`<rect class="fault" x="${from.toFixed(1)}" y="${PAD}" width="${Math.max(1, to - from).toFixed(1)}" height="${H - 2 * PAD}"><title>fault window ${r.fault.healedAt - r.fault.injectedAt} ms: ${esc(r.fault.details)}</title></rect>`);
  }
  const line = (values: number[], cls: string) =>
    `<polyline class="${cls}" points="${values.map((v, i) => `${x(i * bucketMs + bucketMs / 2).toFixed(1)},${y(perSec(v)).toFixed(1)}`).join(' ')}"/>`;
  parts.push(line(buckets.map((b) => b.completed), 'tput'));
  parts.push(line(buckets.map(bucketErrors), 'err'));
  parts.push(`<line class="axis" x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}"/>`);
  parts.push(`<text x="${PAD}" y="${PAD - 8}">${Math.round(maxY)} jobs/s</text>`);
  parts.push(`<text x="${W - PAD}" y="${H - 8}" text-anchor="end">${(spanMs / 1000).toFixed(1)} s</text>`);
  parts.push(`<text x="${PAD}" y="${H - 8}">0 s</text>`);
  return `<svg class="timeline" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="timeline of ${esc(r.scenario)}">${parts.join('')}</svg>`;
}

const cell = (v: string | number, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(String(v))}</td>`;

function summaryRow(r: ScenarioResult): string {
  const bad = (n: number) => (n > 0 ? 'bad' : '');
  return `<tr>${[
    `<td><a href="#s-${esc(r.scenario)}">${esc(r.scenario)}</a></td>`,
    cell(r.jobs),
    cell(r.lost, bad(r.lost)),
    cell(r.unexpected, bad(r.unexpected)),
    cell(`${r.duplicates} (${r.duplicatesAllowed} allowed)`, bad(r.duplicates - r.duplicatesAllowed)),
    cell(r.fifoViolations, bad(r.fifoViolations)),
    cell(r.overlaps, bad(r.overlaps)),
    cell(r.staleTokenOverlaps, bad(r.staleTokenOverlaps)),
    cell(r.rejectedWrites),
    cell(r.recoveryMs === null ? '-' : Math.round(r.recoveryMs)),
    cell(`${r.verdict}${r.expectViolations ? ' (self-test)' : ''}`, r.verdict === 'PASS' ? 'pass' : 'fail'),
  ].join('')}</tr>`;
}

function section(r: ScenarioResult): string {
  const errors = r.timeline.buckets.reduce((n, b) => n + bucketErrors(b), 0);
  const facts = [
    ['what', r.title],
    ['target', r.target ?? 'whole cluster'],
    ['fault', r.fault ? `${r.fault.details} (window ${r.fault.healedAt - r.fault.injectedAt} ms, from +${r.fault.injectedAt - r.startedAt} ms)` : 'none'],
    ['executions', `${r.executions} attempts, ${r.completed} jobs completed, ${errors} errors (failed, crashed, rejected writes, failed adds)`],
    ...(spreadSummary(r) ? [['spread and connections', spreadSummary(r)!]] : []),
    ['data loss allowed by config', String(r.dataLossAllowedByConfig)],
    ['drained', r.drained ? 'yes' : 'no'],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s`],
    ...(r.runDir ? [['run dir', r.runDir]] : []),
    ...(r.error ? [['harness error', r.error]] : []),
  ];
  const reasons = r.reasons.length ? `<ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
  const samples = r.samples.length ? `<details><summary>first violations</summary><pre>${esc(r.samples.join('\n'))}</pre></details>` : '';
  return `<section id="s-${esc(r.scenario)}"><h2>${esc(r.scenario)} — <span class="${r.verdict === 'PASS' ? 'pass' : 'fail'}">${r.verdict}</span></h2>
<dl>${facts.map(([k, v]) => `<dt>${esc(k!)}</dt><dd>${esc(v!)}</dd>`).join('')}</dl>${reasons}
${timelineSvg(r)}
<p class="legend"><span class="k tput"></span> applied completions/s <span class="k err"></span> errors/s (failed, crashed, rejected, failed adds) <span class="k fault"></span> fault window</p>${samples}</section>`;
}

export function renderHtml(report: ChaosReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>atomic-queues chaos report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.pass{color:#17702f;font-weight:600}.fail{color:#b00020;font-weight:600}.bad{background:#fde2e2}
svg.timeline{background:#fafafa;border:1px solid #ddd}svg text{font-size:11px;fill:#555}polyline{fill:none;stroke-width:1.5}
polyline.tput{stroke:#1565c0}polyline.err{stroke:#c62828}rect.fault{fill:#ffb300;opacity:.25}line.axis{stroke:#999}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dt{color:#666}dd{margin:0}
.k{display:inline-block;width:14px;height:4px;margin:0 4px 2px 12px}.k.tput{background:#1565c0}.k.err{background:#c62828}.k.fault{background:#ffb300;opacity:.5;height:10px}
</style></head><body>
<h1>atomic-queues chaos report — <span class="${report.ok ? 'pass' : 'fail'}">${report.ok ? 'PASS' : 'FAIL'}</span></h1>
<p>Generated ${esc(report.generatedAt)} · profile ${esc(report.profile)} · ${report.nodes} nodes · Toxiproxy ${esc(report.toxiproxyVersion)}${report.redisVersion ? ` · Redis ${esc(report.redisVersion)}` : ''} · Redis persistence: ${esc(report.redisPersistence)}</p>
<table><thead><tr><th>scenario</th><th>jobs</th><th>lost</th><th>unexpected</th><th>duplicates</th><th>FIFO violations</th><th>overlaps</th><th>stale-token overlaps</th><th>rejected late writes</th><th>recovery ms</th><th>verdict</th></tr></thead>
<tbody>${report.results.map(summaryRow).join('\n')}</tbody></table>
${report.results.map(section).join('\n')}
</body></html>
`;
}
