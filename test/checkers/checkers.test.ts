import { describe, expect, it } from 'vitest';
import {
  HISTORY_CHECK_COLUMNS,
  HistoryCheckError,
  assertFifoPerEntity,
  assertHistory,
  assertNoLostOrDuplicated,
  assertSingleWorkerPerEntity,
  checkFifoPerEntity,
  checkHistory,
  checkNoLostOrDuplicated,
  checkSingleWorkerPerEntity,
  formatHistorySummary,
  historyCheckRow,
} from '../../testing/checkers/index.js';
import { enq, exec, goodRun } from './fixtures.js';

const E = 'order/1';

describe('checkFifoPerEntity', () => {
  it('accepts back-to-back jobs, by seq and by enqueue order', () => {
    const { enqueued, history } = goodRun(3, 5);
    expect(checkFifoPerEntity(history).ok).toBe(true);
    const result = assertFifoPerEntity(history, enqueued);
    expect(result.stats).toMatchObject({ entities: 3, checked: 15, rejected: 0, unknownJobs: 0 });
  });

  it('flags a reordered pair as nonmonotonic, naming entity, jobs, seq, times and worker', () => {
    const history = [exec(E, 0, 0, 10), exec(E, 2, 10, 20), exec(E, 1, 20, 30)];
    const result = checkFifoPerEntity(history);
    expect(result.ok).toBe(false);
    expect(result.violations.map((v) => v.kind)).toEqual(['nonmonotonic']);
    expect(result.violations[0]!.message).toBe(
      'order/1 job j1 seq 1 attempt 1 [20→30] worker w1@n1 completed started after a later job had started: ' +
        'order/1 job j2 seq 2 attempt 1 [10→20] worker w1@n1 completed',
    );
  });

  it('leaves jobs enqueued out of line (`unordered`: delay, priority, LIFO) unranked, and ranks the rest around them', () => {
    // j1 was added with a delay: it ran last, which is no violation; j0 → j2 keep their order.
    const enqueued = [enq(E, 0), enq(E, 1, { unordered: 'delay 500' }), enq(E, 2)];
    const history = [exec(E, 0, 0, 10), exec(E, 2, 10, 20), exec(E, 1, 500, 510)];
    expect(checkFifoPerEntity(history).violations.map((v) => v.kind)).toEqual(['nonmonotonic']);
    const result = checkFifoPerEntity(history, enqueued);
    expect(result.violations).toEqual([]);
    expect(result.stats).toMatchObject({ checked: 2, unordered: 1, unknownJobs: 0 });
    // the ordered jobs are still judged: j2 before j0 is a violation
    const swapped = [exec(E, 2, 0, 10), exec(E, 0, 10, 20), exec(E, 1, 500, 510)];
    expect(checkFifoPerEntity(swapped, enqueued).violations.map((v) => [v.kind, v.execution?.jobId])).toEqual([['nonmonotonic', 'j0']]);
  });

  it('settles the jobs `failedForGood` names (a stalled-out job has no failed attempt), and only those', () => {
    const enqueued = [enq(E, 0), enq(E, 1), enq(E, 2)];
    const history = [exec(E, 0, 0, undefined), exec(E, 1, 10, 20), exec(E, 2, 20, 30)]; // j0 crashed, never completed
    expect(checkFifoPerEntity(history, enqueued).violations.map((v) => [v.kind, v.skipped])).toEqual([['skip', 'job j0 seq 0']]);
    expect(checkFifoPerEntity(history, enqueued, { allowFinalFailures: true }).ok).toBe(false); // no failed attempt
    const failedForGood = (job: { entityType: string; entityId: string; jobId: string }) => `${job.entityType}/${job.entityId}/${job.jobId}` === 'order/1/j0';
    expect(checkFifoPerEntity(history, enqueued, { failedForGood }).violations).toEqual([]);
    expect(checkFifoPerEntity(history, undefined, { failedForGood }).violations).toEqual([]); // seq ranking too
  });

  it('uses the order of `enqueued` over seq when given', () => {
    const history = [exec(E, 0, 0, 10), exec(E, 2, 10, 20), exec(E, 1, 20, 30)];
    const enqueued = [enq(E, 0), enq(E, 2), enq(E, 1)];
    expect(checkFifoPerEntity(history, enqueued).ok).toBe(true);
    expect(checkFifoPerEntity(history, [enq(E, 0), enq(E, 1), enq(E, 2)]).ok).toBe(false);
  });

  it('flags a job starting while the previous one still runs (early-start)', () => {
    const history = [exec(E, 0, 0, 15), exec(E, 1, 10, 20)];
    const result = checkFifoPerEntity(history);
    expect(result.violations.map((v) => [v.kind, v.execution?.jobId, v.other?.jobId])).toEqual([['early-start', 'j1', 'j0']]);
  });

  it('lets a job start the millisecond the previous one ended', () => {
    expect(checkFifoPerEntity([exec(E, 0, 0, 10), exec(E, 1, 10, 20)]).ok).toBe(true);
  });

  it('accepts retries of A before B starts', () => {
    const history = [
      exec(E, 0, 0, 5, { outcome: 'failed', error: 'boom' }),
      exec(E, 0, 6, 10, { attempt: 2 }),
      exec(E, 1, 10, 20),
    ];
    expect(checkFifoPerEntity(history).ok).toBe(true);
  });

  it('flags a retry of A that runs after B started (retry-after-later-job)', () => {
    const history = [
      exec(E, 0, 0, 5, { outcome: 'failed', error: 'boom' }),
      exec(E, 1, 6, 8),
      exec(E, 0, 9, 12, { attempt: 2 }),
    ];
    const result = checkFifoPerEntity(history);
    expect(result.violations.map((v) => [v.kind, v.execution?.jobId, v.execution?.attempt, v.other?.jobId])).toEqual([
      ['nonmonotonic', 'j0', 2, 'j1'],
    ]);
    expect(() => assertFifoPerEntity(history)).toThrow(/FIFO per entity violated: 1 violations \(1 nonmonotonic\)/);
  });

  it('accepts an at-least-once re-run of a crashed job before later jobs', () => {
    const history = [
      exec(E, 0, 0, 10),
      exec(E, 1, 10, undefined, { node: 'n1' }), // crashed: no end
      exec(E, 1, 40, 50, { node: 'n2', worker: 'w2' }),
      exec(E, 2, 50, 60, { node: 'n2', worker: 'w2' }),
    ];
    expect(checkFifoPerEntity(history).ok).toBe(true);
  });

  it('flags a crashed job re-run after a later job started', () => {
    const history = [exec(E, 0, 0, undefined), exec(E, 1, 40, 50), exec(E, 0, 55, 60)];
    const result = checkFifoPerEntity(history);
    expect(result.violations.map((v) => v.kind)).toEqual(['nonmonotonic']);
  });

  it('flags a later job running although an earlier one never completed (skip)', () => {
    const failedOnly = [exec(E, 0, 0, 5, { outcome: 'failed' }), exec(E, 1, 6, 8)];
    const result = checkFifoPerEntity(failedOnly);
    expect(result.violations.map((v) => [v.kind, v.skipped])).toEqual([['skip', 'job j0 seq 0']]);
    expect(result.violations[0]!.message).toContain('never completed');
    // A dead-lettered job may be accepted as settled.
    expect(checkFifoPerEntity(failedOnly, undefined, { allowFinalFailures: true }).ok).toBe(true);
  });

  it('flags an enqueued job that never ran while a later one did, and gaps in seq', () => {
    const history = [exec(E, 0, 0, 5), exec(E, 2, 6, 8)];
    const byEnqueued = checkFifoPerEntity(history, [enq(E, 0), enq(E, 1), enq(E, 2)]);
    expect(byEnqueued.violations.map((v) => [v.kind, v.skipped])).toEqual([['skip', 'job j1 seq 1']]);
    expect(byEnqueued.violations[0]!.message).toContain('never ran');
    const bySeq = checkFifoPerEntity([...history, exec(E, 6, 9, 10)]);
    expect(bySeq.violations.map((v) => [v.kind, v.skipped])).toEqual([
      ['skip', 'seq 1'],
      ['skip', 'seq 3..5'],
    ]);
  });

  it('does not count an unknown-outcome enqueue that never ran as a skip', () => {
    const history = [exec(E, 0, 0, 5), exec(E, 2, 6, 8)];
    expect(checkFifoPerEntity(history, [enq(E, 0), enq(E, 1, { status: 'unknown' }), enq(E, 2)]).ok).toBe(true);
    const ranButCrashed = [exec(E, 0, 0, 5), exec(E, 1, 5, undefined), exec(E, 2, 6, 8)];
    const result = checkFifoPerEntity(ranButCrashed, [enq(E, 0), enq(E, 1, { status: 'unknown' }), enq(E, 2)]);
    expect(result.violations.map((v) => [v.kind, v.skipped])).toEqual([['skip', 'job j1 seq 1']]);
  });

  it('ignores executions rejected by fencing and jobs it cannot rank', () => {
    const zombie = exec(E, 0, 30, 40, { applied: false, worker: 'zombie' });
    const history = [exec(E, 0, 0, 10), exec(E, 1, 10, 20), zombie, exec('order/2', 9, 0, 1)];
    const result = checkFifoPerEntity(history, [enq(E, 0), enq(E, 1)]);
    expect(result.ok).toBe(true);
    expect(result.stats).toMatchObject({ rejected: 1, unknownJobs: 1, checked: 2 });
  });

  it('reports executions without seq and without enqueued as unranked, and seq reuse', () => {
    const noSeq = exec(E, 0, 0, 10, { seq: undefined });
    expect(checkFifoPerEntity([noSeq]).violations.map((v) => v.kind)).toEqual(['unranked']);
    const reused = [exec(E, 0, 0, 10), exec(E, 0, 10, 20, { jobId: 'other' })];
    expect(checkFifoPerEntity(reused).violations.map((v) => v.kind)).toEqual(['duplicate-seq']);
  });

  it('with endAtEffect, judges an applied execution by its effect time (a holder paused after its write)', () => {
    // j0's write landed at 12, then its process was paused until 500: j0 re-run and j1, j2 ran meanwhile
    const paused = exec(E, 0, 10, 500, { node: 'n1', fencingToken: 1, effectAt: 12 });
    const history = [paused, exec(E, 0, 100, 110, { node: 'n2', fencingToken: 2, effectAt: 108 }), exec(E, 1, 120, 130, { node: 'n2', fencingToken: 2, effectAt: 128 }), exec(E, 2, 140, 150, { node: 'n2', fencingToken: 2, effectAt: 148 })];
    expect(checkFifoPerEntity(history).violations.map((v) => v.kind)).toEqual(['early-start', 'early-start']);
    expect(checkFifoPerEntity(history, undefined, { endAtEffect: true }).ok).toBe(true);
    // a write that landed after a later job had started is still out of order
    const late = [{ ...paused, effectAt: 125 }, ...history.slice(1)];
    expect(checkFifoPerEntity(late, undefined, { endAtEffect: true }).violations.map((v) => [v.kind, v.execution!.jobId])).toEqual([['early-start', 'j1']]);
    // rejected executions and executions without a recorded effect keep their end
    const noEffect = [{ ...paused, effectAt: undefined }, ...history.slice(1)];
    expect(checkFifoPerEntity(noEffect, undefined, { endAtEffect: true }).ok).toBe(false);
  });

  it('keeps entities independent: interleaving across entities is fine', () => {
    const history = [exec('a/1', 0, 0, 10), exec('b/1', 0, 0, 10), exec('a/1', 1, 10, 20), exec('b/1', 1, 5, 30)];
    const result = checkFifoPerEntity(history);
    expect(result.violations.map((v) => [v.entity, v.kind])).toEqual([['b/1', 'early-start']]);
  });
});

describe('checkSingleWorkerPerEntity', () => {
  it('accepts sequential executions and reports overlapping pairs', () => {
    expect(checkSingleWorkerPerEntity(goodRun(2, 4).history).ok).toBe(true);
    const history = [exec(E, 0, 0, 10), exec(E, 1, 5, 20, { worker: 'w2', node: 'n2' }), exec(E, 2, 8, 9)];
    const result = checkSingleWorkerPerEntity(history);
    expect(result.ok).toBe(false);
    expect(result.violations.map((v) => [v.running.jobId, v.execution.jobId])).toEqual([
      ['j0', 'j1'],
      ['j0', 'j2'],
      ['j1', 'j2'],
    ]);
    expect(result.stats).toMatchObject({ overlappingPairs: 3, maxConcurrency: 3 });
    expect(result.violations[0]!.message).toContain('worker w2@n2');
  });

  it('excludes crashed executions by default and applies the crashedEnd policy', () => {
    const history = [exec(E, 0, 0, undefined, { node: 'n1' }), exec(E, 0, 30, 40, { node: 'n2' })];
    expect(checkSingleWorkerPerEntity(history).stats).toMatchObject({ excludedOpen: 1, overlappingPairs: 0 });
    expect(checkSingleWorkerPerEntity(history, { crashedEnd: 'open' }).ok).toBe(false);
    const killedAt = new Map([['n1', 25]]);
    expect(checkSingleWorkerPerEntity(history, { crashedEnd: (e) => killedAt.get(e.node!) }).ok).toBe(true);
    expect(checkSingleWorkerPerEntity(history, { crashedEnd: (e) => e.start + 35 }).ok).toBe(false);
  });

  it('ignores zombies rejected by fencing only when onlyApplied is set', () => {
    const history = [exec(E, 0, 0, 50, { applied: false }), exec(E, 0, 30, 40, { fencingToken: 2 })];
    expect(checkSingleWorkerPerEntity(history).ok).toBe(false);
    expect(checkSingleWorkerPerEntity(history, { onlyApplied: true }).ok).toBe(true);
  });

  it('with endAtEffect, an applied execution occupies [start, effectAt]', () => {
    const paused = exec(E, 0, 10, 500, { node: 'n1', fencingToken: 1, effectAt: 12 });
    const successor = exec(E, 1, 100, 110, { node: 'n2', fencingToken: 2, effectAt: 108 });
    expect(checkSingleWorkerPerEntity([paused, successor], { onlyApplied: true }).stats.overlappingPairs).toBe(1);
    expect(checkSingleWorkerPerEntity([paused, successor], { onlyApplied: true, endAtEffect: true }).ok).toBe(true);
    // the stale holder's write landing inside its successor's run is an overlap (and a stale-token one)
    const lateWrite = { ...paused, effectAt: 105 };
    expect(checkSingleWorkerPerEntity([lateWrite, successor], { onlyApplied: true, endAtEffect: true }).stats.overlappingPairs).toBe(1);
    // a crashed executor whose effect was recorded is checked up to its effect instead of being excluded
    const crashedAfterWrite = exec(E, 0, 10, undefined, { effectAt: 105 });
    const withEffect = checkSingleWorkerPerEntity([crashedAfterWrite, successor], { endAtEffect: true });
    expect(withEffect.stats).toMatchObject({ excludedOpen: 0, overlappingPairs: 1 });
  });

  it('keeps at most maxPairs violations but counts every pair', () => {
    const history = Array.from({ length: 6 }, (_, i) => exec(E, i, i, 100));
    const result = checkSingleWorkerPerEntity(history, { maxPairs: 4 });
    expect(result.violations).toHaveLength(4);
    expect(result.stats.overlappingPairs).toBe(15);
    expect(() => assertSingleWorkerPerEntity(history, { maxListed: 2 })).toThrow(/15 overlapping pairs[\s\S]*… and 13 more/);
  });
});

describe('checkNoLostOrDuplicated', () => {
  it('accepts a complete run', () => {
    const { enqueued, history } = goodRun(2, 3);
    const result = assertNoLostOrDuplicated(enqueued, history);
    expect(result.stats).toMatchObject({ enqueued: 6, completed: 6, lost: 0, duplicated: 0 });
  });

  it('reports lost (never ran / only failed or rejected) and unexpected jobs', () => {
    const enqueued = [enq(E, 0), enq(E, 1), enq(E, 2), enq(E, 3)];
    const history = [
      exec(E, 0, 0, 10),
      exec(E, 1, 10, 20, { outcome: 'failed', error: 'boom' }),
      exec(E, 2, 20, 30, { applied: false }),
      exec(E, 7, 30, 40),
    ];
    const result = checkNoLostOrDuplicated(enqueued, history);
    expect(result.ok).toBe(false);
    expect(result.lost.map((l) => [l.job.jobId, l.attempts.length])).toEqual([
      ['j1', 1],
      ['j2', 1],
      ['j3', 0],
    ]);
    expect(result.unexpected.map((u) => u.jobId)).toEqual(['j7']);
    expect(result.stats.rejected).toBe(1);
    expect(() => assertNoLostOrDuplicated(enqueued, history)).toThrow(
      /3 lost, 1 unexpected[\s\S]*lost: order\/1 job j3 seq 3 never ran/,
    );
  });

  it('reports duplicates without failing, marks allowed ones, and fails on them when strict', () => {
    const enqueued = [enq(E, 0), enq(E, 1)];
    const history = [exec(E, 0, 0, 10), exec(E, 0, 12, 14, { worker: 'w2' }), exec(E, 1, 20, 30), exec(E, 1, 30, 40)];
    const lenient = checkNoLostOrDuplicated(enqueued, history, { duplicatesAllowedFor: new Set(['j0']) });
    expect(lenient.ok).toBe(true);
    expect(lenient.duplicated.map((d) => [d.jobId, d.extra, d.allowed])).toEqual([
      ['j0', 1, true],
      ['j1', 1, false],
    ]);
    const strict = checkNoLostOrDuplicated(enqueued, history, { duplicatesAllowedFor: new Set(['j0']), strictDuplicates: true });
    expect(strict.violations.map((v) => [v.kind, 'jobId' in v ? v.jobId : ''])).toEqual([['duplicated', 'j1']]);
  });

  it('lists jobs that never completed as excused, not lost, when `excuse` gives a reason', () => {
    const enqueued = [enq(E, 0), enq(E, 1), enq(E, 2)];
    const history = [exec(E, 0, 0, 10), exec(E, 1, 10, 20, { outcome: 'failed', error: 'boom' })];
    const excuse = (job: { jobId: string }, attempts: readonly { outcome: string }[]) =>
      attempts.at(-1)?.outcome === 'failed' ? `failed for good after ${attempts.length} attempt(s)` : undefined;
    const result = checkNoLostOrDuplicated(enqueued, history, { excuse });
    expect(result.ok).toBe(false);
    expect(result.lost.map((l) => l.job.jobId)).toEqual(['j2']);
    expect(result.excused.map((x) => [x.job.jobId, x.reason, x.attempts.length])).toEqual([['j1', 'failed for good after 1 attempt(s)', 1]]);
    expect(result.stats).toMatchObject({ lost: 1, excused: 1, completed: 1 });
    expect(() => assertNoLostOrDuplicated(enqueued, history, { excuse })).toThrow(
      /1 lost, 1 excused[\s\S]*lost: order\/1 job j2 seq 2 never ran\n {2}- excused \(failed for good after 1 attempt\(s\)\): order\/1 job j1 seq 1/,
    );
  });

  it('treats unknown-outcome enqueues as neither lost nor unexpected, and counts them recovered', () => {
    const enqueued = [enq(E, 0, { status: 'unknown' }), enq(E, 1, { status: 'unknown' })];
    const result = checkNoLostOrDuplicated(enqueued, [exec(E, 1, 0, 10)]);
    expect(result.ok).toBe(true);
    expect(result.recovered.map((j) => j.jobId)).toEqual(['j1']);
    expect(result.stats).toMatchObject({ unknown: 2, recovered: 1, lost: 0 });
  });

  it('keys jobs by entity: the same jobId in two entities are two jobs', () => {
    const result = checkNoLostOrDuplicated([enq('a/1', 0), enq('b/1', 0)], [exec('a/1', 0, 0, 1), exec('a/1', 0, 1, 2)]);
    expect(result.lost.map((l) => l.entity)).toEqual(['b/1']);
    expect(result.duplicated.map((d) => d.entity)).toEqual(['a/1']);
  });
});

describe('checkHistory', () => {
  it('summarises a good run in one line and a table row', () => {
    const { enqueued, history } = goodRun(4, 5);
    const result = assertHistory(enqueued, history);
    expect(formatHistorySummary(result)).toBe(
      'history OK: 4 entities, 20 enqueued, 20 completed, 20 executions (0 failed, 0 crashed), 0 lost, 0 unexpected, ' +
        '0 duplicated (0 allowed), 0 recovered, 0 FIFO violations, 0 overlaps',
    );
    expect(Object.keys(historyCheckRow(result))).toEqual([...HISTORY_CHECK_COLUMNS]);
  });

  it('throws a HistoryCheckError listing each failed checker', () => {
    const { enqueued, history } = goodRun(1, 3);
    const broken = [...history.slice(0, 2), exec('order/0', 0, 15, 40, { worker: 'w2' })];
    let error: unknown;
    try {
      assertHistory(enqueued, broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HistoryCheckError);
    const message = (error as HistoryCheckError).message;
    expect(message.split('\n')[0]).toMatch(/^history VIOLATED: .*1 lost.*1 duplicated.*FIFO violations, 1 overlaps$/);
    expect(message).toContain('FIFO per entity violated');
    expect(message).toContain('single worker per entity violated');
    expect(message).toContain('lost: order/0 job j2 seq 2 never ran');
    expect(checkHistory(enqueued, broken).ok).toBe(false);
  });

  it('scales as O(n log n): 100k executions of ONE entity, half of them overlapping, checked in seconds', () => {
    // A quadratic checker needs ~10^10 steps here (minutes); the bound is loose because the machine is shared.
    const n = 100_000;
    const history = Array.from({ length: n }, (_, i) => exec(E, i, i * 10, i * 10 + (i % 2 === 0 ? 15 : 10)));
    const enqueued = history.map((e) => enq(E, e.seq!));
    const t0 = performance.now();
    const result = checkHistory(enqueued, history);
    const elapsed = performance.now() - t0;
    expect(result.singleWorker.stats.overlappingPairs).toBe(n / 2);
    expect(result.singleWorker.violations).toHaveLength(1000);
    expect(result.fifo.violations).toHaveLength(n / 2);
    expect(result.noLost.ok).toBe(true);
    expect(elapsed).toBeLessThan(15_000);
  });
});
