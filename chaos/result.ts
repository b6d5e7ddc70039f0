import type { FaultWindow } from './scenarios.js';
import type { ConnectionPeaks, NodeShare, TimelineBucket } from './metrics.js';

/** One row of the chaos report. */
export interface ScenarioResult {
  /** Scenario name, or `self-test:<variant>` for the unsafe-configuration runs. */
  scenario: string;
  title: string;
  /** Self-tests run an unsafe configuration: they pass only when the checks report violations. */
  expectViolations: boolean;
  /** Faulted node, when the scenario targets one. */
  target?: string;
  fault?: FaultWindow;
  /** Load window (producer start → end of drain), wall-clock ms. */
  startedAt: number;
  endedAt: number;
  /** Acknowledged enqueues. */
  jobs: number;
  executions: number;
  /** Distinct jobs completed with their effect applied. */
  completed: number;
  /** Engine loss: acknowledged, never completed (Redis data loss allowed by config is counted apart). */
  lost: number;
  unexpected: number;
  /** Jobs completed more than once; `duplicatesAllowed` of them were in flight during the fault. */
  duplicates: number;
  duplicatesAllowed: number;
  fifoViolations: number;
  /** Overlapping executions of one entity whose effects were both applied (the sink rejected neither). */
  overlaps: number;
  /** Of those, pairs where the execution that started first held the newer token (stale holder fenced in late). */
  staleTokenOverlaps: number;
  /** Late writes the fencing sink rejected (applied: false): the fault was caught, not a violation. */
  rejectedWrites: number;
  /** Jobs lost with Redis data that the configuration allows to lose (0 with AOF appendfsync always). */
  dataLossAllowedByConfig: number;
  recoveryMs: number | null;
  /** Every acknowledged job completed before the drain deadline. */
  drained: boolean;
  timeline: { bucketMs: number; buckets: TimelineBucket[] };
  /** First violation messages from the checkers. */
  samples: string[];
  /** Entities the producers added jobs to. */
  entities?: number;
  /** Per-node share of the entities and jobs completed (applied). */
  perNode?: NodeShare[];
  /** Peak Redis connections per node (sampled CLIENT LIST); absent when the runner did not sample. */
  connections?: ConnectionPeaks;
  verdict: 'PASS' | 'FAIL';
  /** Why the verdict is what it is (empty on a plain PASS). */
  reasons: string[];
  /** Harness failure (the scenario could not run to the end). */
  error?: string;
  runDir?: string;
  durationMs: number;
}

export type VerdictInput = Pick<
  ScenarioResult,
  'expectViolations' | 'lost' | 'unexpected' | 'duplicates' | 'duplicatesAllowed' | 'fifoViolations' | 'overlaps' | 'drained' | 'error'
>;

/**
 * Safe runs pass with lost = unexpected = FIFO violations = applied overlaps = 0, only allowed duplicates and a
 * complete drain. Self-tests (unsafe configuration) pass only when the checks found at least one violation.
 */
export function decideVerdict(r: VerdictInput): { verdict: 'PASS' | 'FAIL'; reasons: string[] } {
  if (r.error) return { verdict: 'FAIL', reasons: [`harness error: ${r.error}`] };
  const found: string[] = [];
  if (r.lost > 0) found.push(`${r.lost} lost`);
  if (r.unexpected > 0) found.push(`${r.unexpected} unexpected`);
  if (r.fifoViolations > 0) found.push(`${r.fifoViolations} FIFO violations`);
  if (r.overlaps > 0) found.push(`${r.overlaps} applied overlaps`);
  const badDuplicates = r.duplicates - r.duplicatesAllowed;
  if (badDuplicates > 0) found.push(`${badDuplicates} duplicates of jobs not in flight at the fault`);
  if (r.expectViolations) {
    return found.length > 0
      ? { verdict: 'PASS', reasons: [`unsafe configuration detected: ${found.join(', ')}`] }
      : { verdict: 'FAIL', reasons: ['unsafe configuration ran without any reported violation: the checks did not fire'] };
  }
  if (!r.drained) found.push('drain did not finish before the deadline');
  return found.length > 0 ? { verdict: 'FAIL', reasons: found } : { verdict: 'PASS', reasons: [] };
}

export interface ChaosReport {
  generatedAt: string;
  profile: string;
  nodes: number;
  toxiproxyVersion: string;
  redisVersion?: string;
  /** How the Redis SIGKILL scenario keeps data (see README of chaos/). */
  redisPersistence: string;
  ok: boolean;
  results: ScenarioResult[];
}
