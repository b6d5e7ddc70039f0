import type { MutantResult, MutantStatus, MutationTestResult } from 'mutation-testing-report-schema';
import { describe, expect, it } from 'vitest';
import { renderSummary, summarize, survivors } from '../../mutation/summary.js';

let id = 0;
const mutant = (status: MutantStatus, line: number, replacement = 'x'): MutantResult => ({
  id: String(++id),
  mutatorName: 'ConditionalExpression',
  replacement,
  status,
  location: { start: { line, column: 1 }, end: { line, column: 5 } },
});

const report = (files: Record<string, MutantResult[]>): MutationTestResult => ({
  schemaVersion: '2',
  thresholds: { high: 80, low: 60 },
  files: Object.fromEntries(Object.entries(files).map(([name, mutants]) => [name, { language: 'typescript', source: 'a\nb\nc\nd\n', mutants }])),
});

describe('mutation summary', () => {
  const a = report({
    'src/a.ts': [mutant('Killed', 1), mutant('Killed', 2), mutant('Timeout', 2), mutant('Survived', 3, 'true'), mutant('Ignored', 1)],
  });
  const b = report({ 'src/b.ts': [mutant('Killed', 1), mutant('NoCoverage', 4), mutant('RuntimeError', 2)] });

  it('counts each status per shard and scores detected over valid, static (ignored) mutants and errors left out', () => {
    const { shards, total, missing } = summarize(new Map([['a', a], ['b', b], ['c', undefined]]));
    expect(shards[0]).toEqual({ name: 'a', mutants: 5, killed: 2, timeout: 1, survived: 1, noCoverage: 0, ignored: 1, errors: 0, score: 75, scoreCovered: 75 });
    expect(shards[1]).toMatchObject({ name: 'b', mutants: 3, killed: 1, noCoverage: 1, errors: 1, score: 50, scoreCovered: 100 });
    expect(total).toMatchObject({ name: 'all measured', mutants: 8, killed: 3, timeout: 1, survived: 1, noCoverage: 1, ignored: 1, errors: 1 });
    expect(total?.score).toBeCloseTo((4 / 6) * 100);
    expect(missing).toEqual(['c']);
  });

  it('renders a Markdown table with the total in bold and the shards not measured', () => {
    const text = renderSummary(summarize(new Map([['a', a], ['c', undefined]])));
    expect(text).toContain('| a | 5 | 2 | 1 | 1 | 0 | 1 | 0 | 75.0 % | 75.0 % |');
    expect(text).toContain('| **all measured** | 5 |');
    expect(text).toContain('not measured yet: c');
    expect(renderSummary(summarize(new Map([['c', undefined]])))).not.toContain('all measured');
  });

  it('lists the undetected mutants by file and line', () => {
    const both = report({ 'src/z.ts': [mutant('NoCoverage', 9, 'a\n  b')], 'src/a.ts': [mutant('Survived', 7), mutant('Killed', 1), mutant('Survived', 2)] });
    expect(survivors(both).map((s) => `${s.file}:${s.line} ${s.status} ${s.replacement}`)).toEqual([
      'src/a.ts:2 Survived x',
      'src/a.ts:7 Survived x',
      'src/z.ts:9 NoCoverage a b',
    ]);
  });
});
