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

export function formatTable(results: readonly ScenarioResult[]): string {
  const rows = [TABLE_COLUMNS.map(String), ...results.map(tableRow)];
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ');
  const rule = widths.map((w) => '-'.repeat(w)).join('-+-');
  const notes = results.flatMap((r) => [
    ...r.reasons.map((why) => `  ${r.scenario}: ${why}`),
    ...(r.rejectedWrites > 0 ? [`  ${r.scenario}: ${r.rejectedWrites} late writes rejected by the fencing sink`] : []),
    ...(r.staleTokenOverlaps > 0
      ? [`  ${r.scenario}: ${r.staleTokenOverlaps} overlaps where the execution that started first took the newer fencing token (its late write was accepted)`]
      : []),
    ...(r.dataLossAllowedByConfig > 0 ? [`  ${r.scenario}: ${r.dataLossAllowedByConfig} jobs lost with Redis data (allowed by config)`] : []),
  ]);
  return [line(rows[0]!), rule, ...rows.slice(1).map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
