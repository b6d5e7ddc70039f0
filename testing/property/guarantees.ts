import type * as FastCheck from 'fast-check';
import { fc } from './fast-check.js';
import { assertHistory, type HistoryCheckOptions } from '../checkers/index.js';
import { arbEntityJobStreams, type JobStreamOptions, type JobStreamScenario } from './streams.js';
import { runScenario, type AtomicQueueSystem } from './system.js';

export interface GuaranteeRunOptions {
  /** Replay a failure: the seed (and path) printed by a failed run. */
  seed?: number;
  path?: string;
  numRuns?: number;
  /** Skip shrinking (faster failure, bigger counterexample). */
  endOnFailure?: boolean;
}

/** Thrown when a property fails; `details` is fast-check's RunDetails. */
export class AtomicQueuePropertyError extends Error {
  constructor(
    message: string,
    readonly details: FastCheck.RunDetails<unknown>,
  ) {
    super(message);
    this.name = 'AtomicQueuePropertyError';
  }
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Runs a fast-check property (typically `atomicQueueGuaranteesProperty`). On failure throws an error with the seed
 * and path to replay it, the shrunk counterexample and the checker's message.
 */
export async function assertAtomicQueueGuarantees<Ts>(
  property: FastCheck.IAsyncProperty<Ts> | FastCheck.IProperty<Ts>,
  options: GuaranteeRunOptions = {},
): Promise<FastCheck.RunDetails<Ts>> {
  const params: FastCheck.Parameters<Ts> = {
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.path === undefined ? {} : { path: options.path }),
    ...(options.numRuns === undefined ? {} : { numRuns: options.numRuns }),
    ...(options.endOnFailure === undefined ? {} : { endOnFailure: options.endOnFailure }),
  };
  const details = await fc.check(property as FastCheck.IRawProperty<Ts>, params);
  if (!details.failed) return details;
  const lines = [
    `atomic queue guarantees violated after ${details.numRuns} run(s), ${details.numShrinks} shrink(s)`,
    `replay with { seed: ${details.seed}, path: ${JSON.stringify(details.counterexamplePath)} }`,
  ];
  if (details.counterexample) lines.push(`counterexample: ${fc.stringify(details.counterexample)}`);
  if (details.errorInstance !== null && details.errorInstance !== undefined) lines.push(errorText(details.errorInstance));
  else if (details.interrupted) lines.push('the run was interrupted');
  throw new AtomicQueuePropertyError(lines.join('\n'), details as FastCheck.RunDetails<unknown>);
}

/**
 * The guarantees as one property: for every generated scenario, a fresh system plays it, runs until idle, and the history
 * passes FIFO per entity, single worker per entity, and no lost / unexpected jobs.
 */
export function atomicQueueGuaranteesProperty(
  makeSystem: (scenario: JobStreamScenario) => AtomicQueueSystem | Promise<AtomicQueueSystem>,
  options: { streams?: JobStreamOptions; check?: HistoryCheckOptions; teardown?: (system: AtomicQueueSystem) => void | Promise<void> } = {},
): FastCheck.IAsyncProperty<[JobStreamScenario]> {
  return fc.asyncProperty(arbEntityJobStreams(options.streams), async (scenario) => {
    const system = await makeSystem(scenario);
    try {
      const { enqueued, history } = await runScenario(system, scenario);
      assertHistory(enqueued, history, options.check);
    } finally {
      await options.teardown?.(system);
    }
  });
}
