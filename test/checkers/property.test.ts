import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AtomicQueuePropertyError,
  SimulatedEngine,
  arbEntityJobStreams,
  assertAtomicQueueGuarantees,
  atomicQueueGuaranteesProperty,
  describeScenario,
  type JobStreamOptions,
  type SimulatedEngineOptions,
} from '../../testing/property/index.js';

const job = (entityId: string, seq: number, durationMs = 10, failTimes = 0) => ({
  entityType: 'order', entityId, jobId: `j${seq}`, seq, durationMs, failTimes,
});

describe('arbEntityJobStreams', () => {
  const options: JobStreamOptions = { entities: 3, jobsPerEntity: 4, failures: 3, retries: 2, delays: 7, crashes: 2 };

  it('generates per-entity seq 0, 1, 2, … within the configured bounds', () => {
    fc.assert(
      fc.property(arbEntityJobStreams(options), (scenario) => {
        const next = new Map<string, number>();
        let crashes = 0;
        for (const op of scenario.ops) {
          if (op.op === 'crash') crashes++;
          if (op.op !== 'enqueue') continue;
          const { entityId, seq, failTimes, durationMs } = op.job;
          expect(seq).toBe(next.get(entityId) ?? 0);
          next.set(entityId, seq + 1);
          expect(failTimes).toBeLessThanOrEqual(2);
          expect(durationMs).toBeGreaterThanOrEqual(1);
          expect(durationMs).toBeLessThanOrEqual(7);
        }
        expect(crashes).toBeLessThanOrEqual(2);
        expect([...next.values()].every((n) => n <= 4)).toBe(true);
        expect(scenario.maxAttempts).toBe(3);
      }),
      { numRuns: 200 },
    );
  });

  it('prints scenarios one op per line', () => {
    const [scenario] = fc.sample(arbEntityJobStreams({ ...options, crashes: 0 }).filter((s) => s.ops.length >= 2), { numRuns: 1, seed: 7 });
    expect(fc.stringify(scenario)).toBe(describeScenario(scenario!));
    expect(describeScenario(scenario!)).toMatch(/^scenario \(maxAttempts 3, 3 entities\):\n {2}(enqueue order\/\d j\d seq \d|advance \d+ms)/);
  });

  it('rejects bad options naming the field and the accepted range', () => {
    expect(() => arbEntityJobStreams({ entities: 0 })).toThrow('arbEntityJobStreams: entities must be an integer >= 1, got 0');
    expect(() => arbEntityJobStreams({ delays: 0.5 })).toThrow('delays must be an integer >= 1, got 0.5');
  });
});

describe('SimulatedEngine', () => {
  it('runs one job per entity at a time, entities in parallel, retries in place', async () => {
    const engine = new SimulatedEngine({ maxAttempts: 2 });
    engine.enqueue(job('1', 0, 10, 1));
    engine.enqueue(job('1', 1, 5));
    engine.enqueue(job('2', 0, 3));
    engine.advance(12);
    engine.crash({ entityType: 'order', entityId: '1' }); // job 0's second attempt runs since t=10
    engine.runUntilIdle();
    const h = engine.history().map((e) => [e.entityId, e.jobId, e.attempt, e.start, e.end, e.outcome]);
    expect(h).toEqual([
      ['1', 'j0', 1, 0, 10, 'failed'],
      ['2', 'j0', 1, 0, 3, 'completed'],
      ['1', 'j0', 2, 10, undefined, 'crashed'],
      ['1', 'j0', 2, 12, 22, 'completed'],
      ['1', 'j1', 1, 22, 27, 'completed'],
    ]);
    expect(engine.now()).toBe(27);
  });

  it('rejects bad options', () => {
    expect(() => new SimulatedEngine({ concurrencyPerEntity: 0 })).toThrow('concurrencyPerEntity must be an integer >= 1, got 0');
    expect(() => new SimulatedEngine({ retry: 'later' as never })).toThrow('retry must be one of in-place, back-of-queue, got "later"');
  });
});

describe('atomic queue guarantees on the SimulatedEngine', () => {
  const streams: JobStreamOptions = { entities: 3, jobsPerEntity: 5, failures: 2, retries: 2, delays: 10, crashes: 2 };
  const property = (engine: SimulatedEngineOptions) =>
    atomicQueueGuaranteesProperty(() => new SimulatedEngine({ maxAttempts: 3, ...engine }), { streams });

  it('hold for the correct engine', async () => {
    const details = await assertAtomicQueueGuarantees(property({}), { numRuns: 300 });
    expect(details.failed).toBe(false);
  });

  it('are violated with concurrencyPerEntity 2, with a replayable, shrunk counterexample', async () => {
    const error = await assertAtomicQueueGuarantees(property({ concurrencyPerEntity: 2 }), { seed: 42, numRuns: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicQueuePropertyError);
    const { message, details } = error as AtomicQueuePropertyError;
    expect(message).toMatch(/^atomic queue guarantees violated after \d+ run\(s\), \d+ shrink\(s\)\nreplay with \{ seed: 42, path: "[\d:]+" \}/);
    expect(message).toContain('counterexample: [scenario (maxAttempts 3');
    expect(message).toContain('single worker per entity violated');
    // Shrunk to the essence: two jobs of one entity enqueued before the first one finished.
    const [scenario] = details.counterexample as [{ ops: { op: string }[] }];
    expect(scenario.ops.filter((o) => o.op === 'enqueue')).toHaveLength(2);

    const replay = await assertAtomicQueueGuarantees(property({ concurrencyPerEntity: 2 }), {
      seed: details.seed,
      path: details.counterexamplePath!,
    }).catch((e: AtomicQueuePropertyError) => e.details);
    expect(replay.failed).toBe(true);
    expect(fc.stringify(replay.counterexample)).toBe(fc.stringify(details.counterexample));
  });

  it('are violated when a retry goes to the back of the queue', async () => {
    const error = await assertAtomicQueueGuarantees(property({ retry: 'back-of-queue' }), { seed: 42, numRuns: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicQueuePropertyError);
    expect((error as Error).message).toMatch(/FIFO per entity violated: .*nonmonotonic/);
  });

  it('are violated when a crashed attempt is dropped instead of re-run (lost job)', async () => {
    const error = await assertAtomicQueueGuarantees(property({ onCrash: 'drop' }), { seed: 42, numRuns: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicQueuePropertyError);
    expect((error as Error).message).toMatch(/lost: order\/\d job j\d seq \d never completed; attempts: .* crashed/);
  });
});
