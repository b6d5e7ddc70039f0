import { describe, expect, it } from 'vitest';
import type { EnqueuedJob, JobExecution } from '@nestjs/atomic-queues/testing';
import { checkSingleWorkerPerEntity } from '@nestjs/atomic-queues/testing';
import {
  addConnectionSample,
  buildTimeline,
  jobsInFlightDuring,
  moduleConnectionOwner,
  nodeShares,
  rejectedWrites,
  staleTokenOverlaps,
  recoveryAfterHeal,
  type ConnectionPeaks,
} from '../../chaos/metrics.js';
import { decideVerdict, type VerdictInput } from '../../chaos/result.js';

const exec = (entityId: string, jobId: string, start: number, end: number | undefined, extra: Partial<JobExecution> = {}): JobExecution => ({
  entityType: 'order',
  entityId,
  queue: `order-${entityId}-queue`,
  jobId,
  jobName: 'work',
  worker: 'w',
  attempt: 1,
  start,
  end,
  outcome: end === undefined ? 'crashed' : 'completed',
  ...extra,
});
const enq = (entityId: string, jobId: string, seq: number, at: number): EnqueuedJob => ({ entityType: 'order', entityId, jobId, seq, at });

describe('timeline', () => {
  it('buckets applied completions, failures, crashes and rejected writes by time', () => {
    const history = [
      exec('1', 'a', 1000, 1100),
      exec('1', 'b', 1100, 1240),
      exec('2', 'c', 1200, 1300, { outcome: 'failed' }),
      exec('2', 'c', 1310, undefined),
      exec('3', 'd', 1400, 1450, { applied: false }),
      exec('3', 'f', 1460, 1470, { applied: false, outcome: 'failed' }), // rejected, then given back: a rejection
      exec('3', 'e', 5000, 5100), // outside the window: ignored
    ];
    const enqueued = [enq('4', 'x', 0, 1260), { ...enq('4', 'y', 1, 1270), status: 'unknown' as const }];
    expect(buildTimeline(history, 1000, 1500, 250, enqueued)).toEqual([
      { t: 0, completed: 2, failed: 0, crashed: 0, rejected: 0, addErrors: 0 },
      { t: 250, completed: 0, failed: 1, crashed: 1, rejected: 2, addErrors: 1 },
    ]);
    expect(rejectedWrites(history)).toBe(2);
    expect(() => buildTimeline(history, 0, 1, 0)).toThrow('bucketMs=0 is invalid');
  });
});

describe('jobs in flight during the fault', () => {
  it('includes executions overlapping the window and open-ended ones started before its end', () => {
    const history = [
      exec('1', 'before', 0, 90),
      exec('1', 'straddles', 90, 110),
      exec('2', 'inside', 120, 130),
      exec('2', 'crashed', 50, undefined),
      exec('3', 'after', 210, 220),
    ];
    expect([...jobsInFlightDuring(history, 100, 200)].sort()).toEqual(['crashed', 'inside', 'straddles']);
  });
});

describe('recovery after heal', () => {
  it('is the longest wait, over entities with work pending at the heal, until their next applied completion', () => {
    const enqueued = [enq('1', 'a', 0, 10), enq('2', 'b', 0, 20), enq('3', 'c', 0, 30), enq('4', 'late', 0, 2000)];
    const history = [
      exec('1', 'a', 50, 60), // done before heal: entity 1 not pending
      exec('2', 'b', 1100, 1300), // pending at heal (1000), recovered after 300
      exec('3', 'c', 1500, 1700, { applied: false }), // rejected write does not count
      exec('3', 'c', 1800, 1900), // recovered after 900
      exec('4', 'late', 2100, 2200), // enqueued after the heal: not pending
    ];
    expect(recoveryAfterHeal(enqueued, history, 1000)).toEqual({ ms: 900, pendingEntities: 2, unrecovered: 0 });
  });

  it('counts entities that never progressed again and reports 0 when nothing was pending', () => {
    const enqueued = [enq('1', 'a', 0, 10)];
    expect(recoveryAfterHeal(enqueued, [], 1000)).toEqual({ ms: null, pendingEntities: 1, unrecovered: 1 });
    expect(recoveryAfterHeal(enqueued, [exec('1', 'a', 20, 30)], 1000)).toEqual({ ms: 0, pendingEntities: 0, unrecovered: 0 });
  });
});

describe('stale-token overlaps', () => {
  it('counts overlapping applied pairs where the execution that started first holds the newer token', () => {
    const history = [
      // paused holder started first but fenced itself in after the takeover: token 3 > 2
      exec('1', 'j2', 0, 900, { fencingToken: 3 }),
      exec('1', 'j3', 500, 520, { fencingToken: 2 }),
      // a resumed holder with the older token overlapping the takeover: overlap, but not stale-token
      exec('2', 'a', 0, 100, { fencingToken: 8 }),
      exec('2', 'a', 96, 110, { fencingToken: 9 }),
      // no tokens
      exec('3', 'c', 0, 50),
      exec('3', 'd', 20, 70),
      // rejected write: not an applied overlap
      exec('4', 'e', 0, 50, { fencingToken: 5 }),
      exec('4', 'f', 10, 60, { fencingToken: 4, applied: false }),
    ];
    const result = checkSingleWorkerPerEntity(history, { onlyApplied: true });
    expect(result.stats.overlappingPairs).toBe(3);
    expect(staleTokenOverlaps(result)).toBe(1);
  });
});

describe('verdict', () => {
  const clean: VerdictInput = {
    expectViolations: false, lost: 0, unexpected: 0, duplicates: 2, duplicatesAllowed: 2, fifoViolations: 0, overlaps: 0, drained: true,
  };

  it('passes a clean run with only allowed duplicates', () => {
    expect(decideVerdict(clean)).toEqual({ verdict: 'PASS', reasons: [] });
  });

  it('fails on each kind of violation, an incomplete drain or a harness error', () => {
    expect(decideVerdict({ ...clean, lost: 1 }).reasons).toEqual(['1 lost']);
    expect(decideVerdict({ ...clean, unexpected: 1 }).verdict).toBe('FAIL');
    expect(decideVerdict({ ...clean, fifoViolations: 3 }).reasons).toEqual(['3 FIFO violations']);
    expect(decideVerdict({ ...clean, overlaps: 1 }).reasons).toEqual(['1 applied overlaps']);
    expect(decideVerdict({ ...clean, duplicates: 3 }).reasons).toEqual(['1 duplicates of jobs not in flight at the fault']);
    expect(decideVerdict({ ...clean, drained: false }).reasons).toEqual(['drain did not finish before the deadline']);
    expect(decideVerdict({ ...clean, error: 'boom' })).toEqual({ verdict: 'FAIL', reasons: ['harness error: boom'] });
  });

  it('passes a self-test only when the unsafe configuration was caught', () => {
    expect(decideVerdict({ ...clean, expectViolations: true }).verdict).toBe('FAIL');
    expect(decideVerdict({ ...clean, expectViolations: true, overlaps: 4, fifoViolations: 2 })).toEqual({
      verdict: 'PASS',
      reasons: ['unsafe configuration detected: 2 FIFO violations, 4 applied overlaps'],
    });
  });
});

describe('per-node share and connection peaks', () => {
  it('counts applied completions per node, and each entity once per node that completed a job of it', () => {
    const history = [
      exec('1', 'a', 0, 10, { node: 'node-1' }),
      exec('1', 'b', 10, 20, { node: 'node-2' }), // released, re-taken by node-2
      exec('2', 'c', 0, 10, { node: 'node-1' }),
      exec('2', 'd', 10, 20, { node: 'node-1' }),
      exec('3', 'e', 0, 10, { node: 'node-10' }),
      exec('3', 'f', 0, 10, { node: 'node-2', applied: false }), // rejected write: not counted
      exec('3', 'g', 0, undefined, { node: 'node-2' }), // crashed: not counted
    ];
    expect(nodeShares(history)).toEqual([
      { node: 'node-1', entities: 2, jobs: 3, entityShare: 2 / 3, jobShare: 3 / 5 },
      { node: 'node-2', entities: 1, jobs: 1, entityShare: 1 / 3, jobShare: 1 / 5 },
      { node: 'node-10', entities: 1, jobs: 1, entityShare: 1 / 3, jobShare: 1 / 5 },
    ]);
    expect(nodeShares([])).toEqual([]);
  });

  it('keeps the peak of the module-named connections of each run node, with its kinds', () => {
    expect(moduleConnectionOwner('aq:node-2:workers')).toEqual({ node: 'node-2', kind: 'workers' });
    expect(moduleConnectionOwner('aq:queues')).toBeUndefined();
    expect(moduleConnectionOwner('bull:abc')).toBeUndefined();
    const peaks: ConnectionPeaks = { samples: 0, peakPerNode: {}, kindsAtPeak: {}, peakUnnamed: 0 };
    const base = ['aq:node-1:cmd', 'aq:node-1:sub', 'aq:node-1:hb', 'aq:node-1:queues', 'aq:node-1:workers', 'aq:node-2:cmd'];
    addConnectionSample(peaks, [...base, 'aq:producer-1:cmd', '', ''], ['node-1', 'node-2']);
    addConnectionSample(peaks, ['aq:node-1:cmd', 'aq:node-2:cmd', 'aq:node-2:workers', ''], ['node-1', 'node-2']);
    expect(peaks).toEqual({
      samples: 2,
      peakPerNode: { 'node-1': 5, 'node-2': 2 },
      kindsAtPeak: { 'node-1': { cmd: 1, sub: 1, hb: 1, queues: 1, workers: 1 }, 'node-2': { cmd: 1, workers: 1 } },
      peakUnnamed: 2,
    });
  });
});
