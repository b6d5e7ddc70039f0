/**
 * Plain-text digest of a k6 end-of-test summary (the `data` given to `handleSummary`), so the scripts need no
 * remote jslib import. Leaf module (no imports): k6 loads it as-is.
 */

export interface K6MetricSummary {
  type: string;
  contains?: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface K6SummaryData {
  metrics: Record<string, K6MetricSummary>;
  state?: { testRunDurationMs?: number };
}

export interface ThresholdOutcome {
  metric: string;
  threshold: string;
  ok: boolean;
}

export function thresholdOutcomes(data: K6SummaryData): ThresholdOutcome[] {
  const out: ThresholdOutcome[] = [];
  for (const [metric, summary] of Object.entries(data.metrics)) {
    for (const [threshold, result] of Object.entries(summary.thresholds ?? {})) {
      out.push({ metric, threshold, ok: result.ok });
    }
  }
  return out.sort((a, b) => a.metric.localeCompare(b.metric) || a.threshold.localeCompare(b.threshold));
}

const fmt = (v: number | undefined): string => (v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(2));

/** One line per metric of interest plus one per threshold, `✓`/`✗` marked. */
export function summaryText(data: K6SummaryData, metrics: string[]): string {
  const lines: string[] = [];
  for (const name of metrics) {
    const m = data.metrics[name];
    if (!m) {
      lines.push(`${name}: no samples`);
      continue;
    }
    const keys = Object.keys(m.values).sort();
    lines.push(`${name}: ${keys.map((k) => `${k}=${fmt(m.values[k])}`).join(' ')}`);
  }
  for (const t of thresholdOutcomes(data)) lines.push(`${t.ok ? '✓' : '✗'} ${t.metric} ${t.threshold}`);
  return `${lines.join('\n')}\n`;
}
