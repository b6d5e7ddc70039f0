import type { ScenarioResult } from '../result.js';

/** The stdout table: one row per scenario, columns in the order the issue lists them. */
export const TABLE_COLUMNS = [
  'scenario',
  'jobs',
  'lost',
  'unexpected',
  'duplicates',
  'FIFO violations',
  'overlaps',
  'recovery ms',
  'verdict',
] as const;

export function tableRow(r: ScenarioResult): string[] {
  const dup = r.duplicates === 0 ? '0' : `${r.duplicates} (${r.duplicatesAllowed} allowed)`;
  const verdict = r.expectViolations ? `${r.verdict} (self-test)` : r.verdict;
  return [
    r.scenario,
    String(r.jobs),
    String(r.lost),
    String(r.unexpected),
    dup,
    String(r.fifoViolations),
    String(r.overlaps),
    r.recoveryMs === null ? '-' : String(Math.round(r.recoveryMs)),
    verdict,
  ];
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** "node-1 34%/35%, …" (share of entities / of jobs) and "node-1 5, …" (peak Redis connections), or undefined. */
export function spreadSummary(r: ScenarioResult): string | undefined {
  const parts: string[] = [];
  if (r.perNode?.length) parts.push(`per node (entities/jobs): ${r.perNode.map((n) => `${n.node} ${pct(n.entityShare)}/${pct(n.jobShare)}`).join(', ')}`);
  const peaks = Object.entries(r.connections?.peakPerNode ?? {}).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
  if (peaks.length) parts.push(`peak Redis connections: ${peaks.map(([node, n]) => `${node} ${n}`).join(', ')}`);
  if (r.connections?.peakEntityWorkers !== undefined) parts.push(`peak live entity workers: ${r.connections.peakEntityWorkers}`);
  if (parts.length === 0) return undefined;
  return `${r.entities !== undefined ? `${r.entities} entities; ` : ''}${parts.join('; ')}`;
}

export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = [TABLE_COLUMNS.map(String), ...results.map(tableRow)];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const notes = results.flatMap((r) => [
    ...r.reasons.map((why) => `  ${r.scenario}: ${why}`),
    ...[spreadSummary(r)].filter((x) => x !== undefined).map((x) => `  ${r.scenario}: ${x}`),
    ...(r.rejectedWrites > 0 ? [`  ${r.scenario}: ${r.rejectedWrites} late writes rejected by the fencing sink`] : []),
    ...(r.staleTokenOverlaps > 0
      ? [`  ${r.scenario}: ${r.staleTokenOverlaps} overlaps where the execution that started first took the newer fencing token (its late write was accepted)`]
      : []),
    ...(r.dataLossAllowedByConfig > 0 ? [`  ${r.scenario}: ${r.dataLossAllowedByConfig} jobs lost with Redis data (allowed by config)`] : []),
  ]);
  return [line(rows[0]!), rule, ...rows.slice(1).map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
