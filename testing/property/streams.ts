import type * as FastCheck from 'fast-check';
import { fc } from './fast-check.js';
import { entityKey } from '../history.js';

export interface EntityRef {
  entityType: string;
  entityId: string;
}

/** A job of a generated stream: fails its first `failTimes` attempts, each attempt takes `durationMs`. */
export interface StreamJob extends EntityRef {
  jobId: string;
  seq: number;
  failTimes: number;
  durationMs: number;
}

export type ScheduleOp =
  | { op: 'enqueue'; job: StreamJob }
  /** Let `ms` of (simulated) time pass. */
  | { op: 'advance'; ms: number }
  /** The worker of this entity dies: its in-flight attempt is lost and re-run (at-least-once). */
  | { op: 'crash'; entity: EntityRef };

export interface JobStreamScenario {
  entities: EntityRef[];
  ops: ScheduleOp[];
  /** Attempts the engine grants each job (retries + 1); every job's failTimes is below it, so all jobs can complete. */
  maxAttempts: number;
}

export interface JobStreamOptions {
  /** Number of entities (default 3). */
  entities?: number;
  /** Maximum jobs per entity (default 5). */
  jobsPerEntity?: number;
  /** Maximum failed attempts of one job (default 0). */
  failures?: number;
  /** Retries the engine grants, i.e. maxAttempts - 1 (default: `failures`); failTimes never exceeds it. */
  retries?: number;
  /** Maximum processing time of one attempt in ms (default 10; minimum 1). */
  delays?: number;
  /** Maximum number of worker crashes in a scenario (default 0). */
  crashes?: number;
  /** Maximum single time advance in ms (default 2 × delays). */
  maxAdvanceMs?: number;
  /** Entity type of the generated entities (default 'order'). */
  entityType?: string;
}

const nonNegativeInt = (name: string, value: number | undefined, fallback: number, min = 0): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new Error(`arbEntityJobStreams: ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return v;
};

/** One op per line: `enqueue order/0 j0 seq 0 fails 1× 3ms`, `advance 5ms`, `crash order/1`. */
export function describeScenario(scenario: JobStreamScenario): string {
  const lines = scenario.ops.map((op) => {
    if (op.op === 'advance') return `advance ${op.ms}ms`;
    if (op.op === 'crash') return `crash ${entityKey(op.entity)}`;
    const j = op.job;
    return `enqueue ${entityKey(j)} ${j.jobId} seq ${j.seq}${j.failTimes ? ` fails ${j.failTimes}×` : ''} ${j.durationMs}ms`;
  });
  return `scenario (maxAttempts ${scenario.maxAttempts}, ${scenario.entities.length} entities):\n  ${lines.join('\n  ')}`;
}

type RawOp =
  | { op: 'enqueue'; entity: number; failTimes: number; durationMs: number }
  | { op: 'advance'; ms: number }
  | { op: 'crash'; entity: number };

/**
 * Interleaved multi-entity job streams: a schedule of enqueues (per-entity seq 0, 1, 2, … in schedule order), time
 * advances and worker crashes. Shrinks towards fewer ops, fewer failures and shorter durations.
 */
export function arbEntityJobStreams(options: JobStreamOptions = {}): FastCheck.Arbitrary<JobStreamScenario> {
  const entities = nonNegativeInt('entities', options.entities, 3, 1);
  const jobsPerEntity = nonNegativeInt('jobsPerEntity', options.jobsPerEntity, 5, 1);
  const failures = nonNegativeInt('failures', options.failures, 0);
  const retries = nonNegativeInt('retries', options.retries, failures);
  const delays = nonNegativeInt('delays', options.delays, 10, 1);
  const crashes = nonNegativeInt('crashes', options.crashes, 0);
  const maxAdvanceMs = nonNegativeInt('maxAdvanceMs', options.maxAdvanceMs, 2 * delays);
  const entityType = options.entityType ?? 'order';
  const refs: EntityRef[] = Array.from({ length: entities }, (_, i) => ({ entityType, entityId: String(i) }));

  const entity = fc.nat({ max: entities - 1 });
  const enqueue = fc.record({
    op: fc.constant('enqueue' as const),
    entity,
    failTimes: fc.nat({ max: Math.min(failures, retries) }),
    durationMs: fc.integer({ min: 1, max: delays }),
  });
  const advance = fc.record({ op: fc.constant('advance' as const), ms: fc.nat({ max: maxAdvanceMs }) });
  const crash = fc.record({ op: fc.constant('crash' as const), entity });
  const choices: FastCheck.WeightedArbitrary<RawOp>[] = [
    { arbitrary: enqueue, weight: 4 },
    { arbitrary: advance, weight: 2 },
    ...(crashes > 0 ? [{ arbitrary: crash, weight: 1 }] : []),
  ];
  const raw = fc.array(
    fc.oneof(...choices),
    { maxLength: entities * jobsPerEntity * 2 },
  );

  return raw.map((rawOps) => {
    const seqs = new Array<number>(entities).fill(0);
    let crashesLeft = crashes;
    const ops: ScheduleOp[] = [];
    for (const op of rawOps) {
      if (op.op === 'advance') ops.push(op);
      else if (op.op === 'crash') {
        if (crashesLeft-- > 0) ops.push({ op: 'crash', entity: refs[op.entity]! });
      } else if (seqs[op.entity]! < jobsPerEntity) {
        const seq = seqs[op.entity]!++;
        ops.push({ op: 'enqueue', job: { ...refs[op.entity]!, jobId: `j${seq}`, seq, failTimes: op.failTimes, durationMs: op.durationMs } });
      }
    }
    const scenario: JobStreamScenario = { entities: refs, ops, maxAttempts: retries + 1 };
    return Object.assign(scenario, { [fc.toStringMethod]: () => describeScenario(scenario) });
  });
}
