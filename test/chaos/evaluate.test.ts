import { describe, expect, it } from 'vitest';
import type { EnqueuedJob, JobExecution } from '@nestjs/atomic-queues/testing';
import { getProfile } from '../../chaos/profile.js';
import { evaluate, type EvaluateInput } from '../../chaos/runner.js';
import { getScenario } from '../../chaos/scenarios.js';

const exec = (entityId: string, seq: number, start: number, end: number | undefined, extra: Partial<JobExecution> = {}): JobExecution => ({
  entityType: 'order',
  entityId,
  queue: `order-${entityId}-queue`,
  jobId: `${entityId}.${seq}`,
  jobName: 'work',
  seq,
  worker: `order-${entityId}-worker`,
  node: 'node-1',
  attempt: 1,
  start,
  end,
  outcome: end === undefined ? 'crashed' : 'completed',
  ...extra,
});
const enq = (entityId: string, seq: number, at: number, status?: 'unknown'): EnqueuedJob => ({
  entityType: 'order', entityId, jobId: `${entityId}.${seq}`, seq, at, ...(status ? { status } : {}),
});

const scenario = getScenario('node-pause');
const base = (history: JobExecution[], enqueued: EnqueuedJob[]): EvaluateInput => ({
  spec: { name: 'node-pause', title: scenario.title, scenario },
  profile: getProfile('ci'),
  runDir: { path: '/tmp/x', id: 'x', historyFile: () => '', enqueueFile: () => '' },
  enqueued,
  history,
  fault: { injectedAt: 1000, healedAt: 2000, details: 'SIGSTOP node-2' },
  loadStartedAt: 0,
  endedAt: 4000,
  drained: true,
  began: 0,
});

describe('evaluate a drained run', () => {
  const enqueued = [enq('a', 0, 10), enq('a', 1, 20), enq('a', 2, 30), enq('b', 0, 40)];

  it('allows a duplicate of a job in flight during the fault and passes', () => {
    const history = [
      exec('a', 0, 100, 200),
      exec('a', 1, 900, 2100, { node: 'node-2', fencingToken: 1, applied: false }), // paused holder, write rejected
      exec('a', 1, 2200, 2300, { fencingToken: 2 }),
      exec('a', 1, 2310, 2320, { fencingToken: 2 }), // stalled re-run of a job in flight at the fault
      exec('a', 2, 2400, 2500, { fencingToken: 2 }),
      exec('b', 0, 300, 400),
    ];
    const r = evaluate(base(history, enqueued));
    expect(r).toMatchObject({
      verdict: 'PASS', jobs: 4, completed: 4, lost: 0, unexpected: 0, duplicates: 1, duplicatesAllowed: 1,
      fifoViolations: 0, overlaps: 0, rejectedWrites: 1, target: 'node-2', recoveryMs: 300, startedAt: 10,
    });
    expect(r.timeline.buckets.reduce((n, b) => n + b.completed, 0)).toBe(5); // applied completions only
  });

  it('passes a holder paused right after its write landed, judged by the effect time (CI run of 2026-11-29)', () => {
    // node-2 applied a.0 at 950 with token 1, was SIGSTOPped before it could finish, and recorded its end at SIGCONT;
    // node-1 took over with token 2, re-ran a.0 (stalled) and ran a.1, a.2 during the pause
    const history = [
      exec('a', 0, 940, 2010, { node: 'node-2', fencingToken: 1, effectAt: 950 }),
      exec('a', 0, 1500, 1510, { fencingToken: 2, effectAt: 1509 }),
      exec('a', 1, 1520, 1530, { fencingToken: 2, effectAt: 1529 }),
      exec('a', 2, 1540, 1550, { fencingToken: 2, effectAt: 1549 }),
      exec('b', 0, 300, 400),
    ];
    expect(evaluate(base(history, enqueued))).toMatchObject({
      verdict: 'PASS', duplicates: 1, duplicatesAllowed: 1, fifoViolations: 0, overlaps: 0, staleTokenOverlaps: 0,
    });
    // the same history with the paused holder's write landing during node-1's run fails
    history[0] = { ...history[0]!, effectAt: 1525 };
    const late = evaluate(base(history, enqueued));
    expect(late).toMatchObject({ verdict: 'FAIL', overlaps: 2, staleTokenOverlaps: 0 });
    expect(late.fifoViolations).toBeGreaterThan(0);
  });

  it('fails on a duplicate outside the fault window, an applied overlap and a lost job', () => {
    const history = [
      exec('a', 0, 100, 200),
      exec('a', 0, 3000, 3010), // duplicate long after the heal
      exec('a', 1, 2200, 2300),
      exec('a', 2, 2250, 2350), // overlaps seq 1, both applied, no fencing
    ];
    const r = evaluate(base(history, enqueued));
    expect(r.verdict).toBe('FAIL');
    expect(r.reasons).toEqual(
      expect.arrayContaining(['1 lost', '1 applied overlaps', '1 duplicates of jobs not in flight at the fault']),
    );
    expect(r.fifoViolations).toBeGreaterThan(0);
    expect(r.samples.join('\n')).toContain('b.0');
  });

  it('does not count an unknown add that never ran as lost or as a FIFO skip', () => {
    const history = [exec('a', 0, 100, 200), exec('a', 2, 300, 400), exec('b', 0, 500, 600)];
    const r = evaluate(base(history, [enq('a', 0, 10), enq('a', 1, 20, 'unknown'), enq('a', 2, 30), enq('b', 0, 40)]));
    expect(r).toMatchObject({ verdict: 'PASS', lost: 0, fifoViolations: 0 });
  });

  it('fails many-entities when a node held more Redis connections than its budget, and reports the spread', () => {
    const many = getScenario('many-entities');
    const history = [exec('a', 0, 100, 200), exec('a', 1, 300, 400, { node: 'node-2' }), exec('a', 2, 500, 600), exec('b', 0, 500, 600, { node: 'node-3' })];
    const peaks = (node2: number) => ({
      samples: 3,
      peakPerNode: { 'node-1': 5, 'node-2': node2, 'node-3': 5 },
      kindsAtPeak: {},
      peakUnnamed: 0,
    });
    const input = (node2: number): EvaluateInput => ({
      ...base(history, enqueued),
      spec: { name: 'many-entities', title: many.title, scenario: many },
      connections: peaks(node2),
    });
    const ok = evaluate(input(5));
    expect(ok).toMatchObject({ verdict: 'PASS', reasons: [] });
    expect(ok.perNode).toEqual([
      { node: 'node-1', entities: 1, jobs: 2, entityShare: 1 / 2, jobShare: 2 / 4 },
      { node: 'node-2', entities: 1, jobs: 1, entityShare: 1 / 2, jobShare: 1 / 4 },
      { node: 'node-3', entities: 1, jobs: 1, entityShare: 1 / 2, jobShare: 1 / 4 },
    ]);
    // one connection per entity worker (the engine before) is what the budget catches
    const over = evaluate(input(many.maxConnectionsPerNode! + 1));
    expect(over.verdict).toBe('FAIL');
    expect(over.reasons).toEqual([`Redis connections above ${many.maxConnectionsPerNode} per node: node-2 ${many.maxConnectionsPerNode! + 1}`]);
    // scenarios without a budget only report the peaks
    expect(evaluate({ ...base(history, enqueued), connections: peaks(40) }).verdict).toBe('PASS');
  });
});
