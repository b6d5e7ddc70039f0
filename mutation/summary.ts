import { aggregateResultsByModule, calculateMutationTestMetrics, type Metrics } from 'mutation-testing-metrics';
import type { MutationTestResult } from 'mutation-testing-report-schema';

/** One line of the summary: a shard's figures, or the total over every measured shard. */
export interface ShardFigures {
  readonly name: string;
  /** Mutants in the report, ignored (static) ones included. */
  readonly mutants: number;
  readonly killed: number;
  readonly timeout: number;
  readonly survived: number;
  readonly noCoverage: number;
  /** Static mutants (`--ignoreStatic`): only run while a module loads, reported as survivors by this runner. */
  readonly ignored: number;
  /** Runtime and compile errors: not counted in the score. */
  readonly errors: number;
  /** Detected / valid, in percent (NaN when nothing was valid). */
  readonly score: number;
  /** Detected / covered, in percent. */
  readonly scoreCovered: number;
}

const figures = (name: string, m: Metrics): ShardFigures => ({
  name,
  mutants: m.totalMutants,
  killed: m.killed,
  timeout: m.timeout,
  survived: m.survived,
  noCoverage: m.noCoverage,
  ignored: m.ignored,
  errors: m.totalInvalid,
  score: m.mutationScore,
  scoreCovered: m.mutationScoreBasedOnCoveredCode,
});

export interface Summary {
  readonly shards: readonly ShardFigures[];
  /** Every measured shard together (undefined when none is). */
  readonly total: ShardFigures | undefined;
  /** Shards without a report yet. */
  readonly missing: readonly string[];
}

/** Figures per shard and in total, from each shard's Stryker JSON report (undefined: not run yet). */
export function summarize(reports: ReadonlyMap<string, MutationTestResult | undefined>): Summary {
  const measured: Record<string, MutationTestResult> = {};
  const shards: ShardFigures[] = [];
  const missing: string[] = [];
  for (const [name, report] of reports) {
    if (!report) {
      missing.push(name);
      continue;
    }
    measured[name] = report;
    shards.push(figures(name, calculateMutationTestMetrics(report).systemUnderTestMetrics.metrics));
  }
  const total = shards.length
    ? figures('all measured', calculateMutationTestMetrics(aggregateResultsByModule(measured)).systemUnderTestMetrics.metrics)
    : undefined;
  return { shards, total, missing };
}

export interface Survivor {
  readonly file: string;
  readonly line: number;
  readonly mutator: string;
  readonly replacement: string;
  readonly status: 'Survived' | 'NoCoverage';
}

/** The undetected mutants of a report, in file and line order. */
export function survivors(report: MutationTestResult): Survivor[] {
  const out: Survivor[] = [];
  for (const [file, result] of Object.entries(report.files)) {
    for (const m of result.mutants) {
      if (m.status !== 'Survived' && m.status !== 'NoCoverage') continue;
      out.push({ file, line: m.location.start.line, mutator: m.mutatorName, replacement: (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80), status: m.status });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

const pct = (n: number) => (Number.isNaN(n) ? 'n/a' : `${n.toFixed(1)} %`);

/** The summary as a Markdown table (what the README's mutation section quotes). */
export function renderSummary(summary: Summary): string {
  const head = '| shard | mutants | killed | timeout | survived | no coverage | static (ignored) | errors | score | score of covered |';
  const rule = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const row = (f: ShardFigures, bold = false) => {
    const b = (s: string) => (bold ? `**${s}**` : s);
    return `| ${b(f.name)} | ${f.mutants} | ${f.killed} | ${f.timeout} | ${f.survived} | ${f.noCoverage} | ${f.ignored} | ${f.errors} | ${b(pct(f.score))} | ${pct(f.scoreCovered)} |`;
  };
  const lines = [head, rule, ...summary.shards.map((f) => row(f))];
  if (summary.total) lines.push(row(summary.total, true));
  if (summary.missing.length) lines.push('', `not measured yet: ${summary.missing.join(', ')}`);
  return lines.join('\n');
}
