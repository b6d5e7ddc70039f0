import { describe, expect, it } from 'vitest';
import {
  AtomicQueuePropertyError,
  PROPERTY_MODULE_CONFIG,
  assertAtomicQueueGuarantees,
  atomicQueueGuaranteesProperty,
  createTestingModuleSystem,
  type JobStreamOptions,
  type TestingModuleSystem,
} from '@nestjs/atomic-queues/testing/property';

/** Interleaved streams over 3 entities with planned failures (in-place retries), processing delays and crashes. */
const STREAMS: JobStreamOptions = { entities: 3, jobsPerEntity: 4, failures: 1, retries: 1, delays: 30, crashes: 1, maxAdvanceMs: 60 };
const teardown = (system: unknown) => (system as TestingModuleSystem).close();

describe('atomic queue guarantees on the real services of AtomicQueuesTestingModule', () => {
  it('FIFO per entity, one worker per entity, no lost jobs: hold for generated streams', async () => {
    const seen = { crashed: 0, failed: 0, completed: 0 };
    const details = await assertAtomicQueueGuarantees(
      atomicQueueGuaranteesProperty((scenario) => createTestingModuleSystem(scenario), {
        streams: STREAMS,
        teardown: async (system) => {
          for (const e of (system as TestingModuleSystem).history()) if (e.outcome in seen) seen[e.outcome as keyof typeof seen]++;
          await teardown(system);
        },
      }),
      { numRuns: 25, seed: 42 },
    );
    expect(details.numRuns).toBe(25);
    // The streams really exercise crashes (attempts cut off and re-run) and in-place retries.
    expect(seen.crashed).toBeGreaterThan(0);
    expect(seen.failed).toBeGreaterThan(0);
    expect(seen.completed).toBeGreaterThan(25);
  });

  it('catch a deliberately broken engine (workerDefaults.concurrency 2 per entity) with seed and shrunk counterexample', async () => {
    const broken = { ...PROPERTY_MODULE_CONFIG, workerDefaults: { ...PROPERTY_MODULE_CONFIG.workerDefaults, concurrency: 2 } };
    const error = await assertAtomicQueueGuarantees(
      atomicQueueGuaranteesProperty((scenario) => createTestingModuleSystem(scenario, { config: broken }), {
        streams: { ...STREAMS, failures: 0, crashes: 0 },
        teardown,
      }),
      { numRuns: 50 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtomicQueuePropertyError);
    const message = (error as Error).message;
    expect(message).toMatch(/replay with \{ seed: -?\d+, path: "[\d:]+" \}/);
    expect(message).toMatch(/counterexample: \[scenario \(maxAttempts \d, 3 entities\):\n {2}enqueue order\/\d j0 seq 0 \d+ms\n {2}enqueue order\/\d j1 seq 1/);
    expect(message).toMatch(/overlap|early-start|nonmonotonic/);
  });
});
