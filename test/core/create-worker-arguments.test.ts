import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicQueuesConfigError, AtomicQueuesValidationError, WorkerManagerService } from '@nestjs/atomic-queues';
import { AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';
import { resolveConfig } from '../../src/config/atomic-queues-config.js';
import { argumentRules, configRules } from '../../src/validation.js';

let moduleRef: TestingModule;
let workers: WorkerManagerService;
beforeEach(async () => {
  moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot()] }).compile();
  await moduleRef.init();
  workers = moduleRef.get(WorkerManagerService);
});
afterEach(async () => {
  await moduleRef.close();
});

const rejection = (config: unknown) =>
  workers.createWorker({ workerName: 'w', queueName: 'q', processor: async () => undefined, config: config as never }).then(
    () => {
      throw new Error('accepted an invalid config argument');
    },
    (err: unknown) => err,
  );

const configFailure = (workerDefaults: unknown): AtomicQueuesConfigError => {
  try {
    resolveConfig({ redis: { port: 6379 }, workerDefaults: workerDefaults as never });
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    return err as AtomicQueuesConfigError;
  }
  throw new Error('accepted an invalid config');
};

describe('createWorker({ config }): argument errors, the same rules as workerDefaults', () => {
  it.each([
    [{ heartbeatTTL: -1 }, 'heartbeatTTL'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ heartbeatInterval: 5000 }, 'heartbeatInterval'],
    [{ lockDuratoin: 1000 }, 'lockDuratoin'],
  ])('%j is an AtomicQueuesValidationError naming config.%s, with the rule workerDefaults gets', async (bad, field) => {
    const err = await rejection(bad);
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    expect(err).not.toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesValidationError).argument).toBe(`config.${field}`);
    expect((err as Error).message).toMatch(new RegExp(`^Invalid config\\.${field}: `));
    // One set of rules: the module configuration fails the same rule, only the error class and path differ.
    const configErr = configFailure(bad);
    expect(configErr.path).toBe(`workerDefaults.${field}`);
    expect(configErr.rule).toBe((err as AtomicQueuesValidationError).rule);
    expect(workers.getLocalWorkerNames()).toEqual([]);
  });

  it('a config that is not an object is an argument error too', async () => {
    const err = await rejection(42);
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    expect((err as Error).message).toBe('Invalid config: must be an object (got 42)');
  });

  it('the shared rules throw the class the caller chose', () => {
    expect(() => argumentRules.integer('n', 0, 1)).toThrow(AtomicQueuesValidationError);
    expect(() => configRules.integer('n', 0, 1)).toThrow(AtomicQueuesConfigError);
    expect(() => argumentRules.integer('n', 0, 1)).toThrow('Invalid n: must be an integer in [1, 9007199254740991] (got 0)');
  });
});
