import type { HistoryCheckResult } from '@nestjs/atomic-queues/testing';
import type { CheckOutcome } from './report.js';

const outcome = (name: string, ok: boolean, violations: ReadonlyArray<{ message: string }>): CheckOutcome => ({
  name,
  ok,
  violations: violations.length,
  examples: violations.slice(0, 5).map((v) => v.message),
});

/**
 * The shared checkers' verdict as report rows: lost, unexpected, FIFO, overlap (single worker per entity), and
 * duplicates (reported; a violation only when the checker counts them, i.e. with strictDuplicates).
 */
export function checkOutcomes(result: HistoryCheckResult): CheckOutcome[] {
  const { noLost, fifo, singleWorker } = result;
  const countedDuplicates = noLost.duplicated.filter((d) => noLost.violations.includes(d));
  return [
    outcome('lost', noLost.lost.length === 0, noLost.lost),
    outcome('unexpected', noLost.unexpected.length === 0, noLost.unexpected),
    outcome('fifo', fifo.ok, fifo.violations),
    outcome('overlap', singleWorker.ok, singleWorker.violations),
    { ...outcome('duplicated', countedDuplicates.length === 0, noLost.duplicated), name: `duplicated (${noLost.stats.duplicatedAllowed} allowed)` },
  ];
}
