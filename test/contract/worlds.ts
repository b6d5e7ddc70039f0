import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { waitFor } from '../support/wait.js';
import { scanKeys } from '../core/support.js';
import { AtomicQueuesModule, type AtomicQueuesConfig } from '@nestjs/atomic-queues';
import { AtomicQueuesTestingModule, TestClock } from '@nestjs/atomic-queues/testing';

/** The module configuration a contract test asks for; each world adds what it needs (redis, keyPrefix). */
export type ContractConfig = Omit<AtomicQueuesConfig, 'redis' | 'keyPrefix'>;

/** One module instance the contract suite drives; the only place where the two backends differ. */
export interface ContractWorld {
  readonly kind: 'redis' | 'memory';
  readonly moduleRef: INestApplicationContext;
  /** Let `ms` of module time pass (real: a real wait; memory: TestClock.advance). */
  advance(ms: number): Promise<void>;
  /** Resolves once `predicate` holds (real: polls; memory: runs the clock from timer to timer). */
  waitFor(predicate: () => boolean | Promise<boolean>, what?: string): Promise<void>;
  /** Closes the application (graceful shutdown) and removes what the world left behind. */
  close(): Promise<void>;
}

export type MakeContractWorld = (config: ContractConfig) => Promise<ContractWorld>;

const REAL_WAIT_TIMEOUT_MS = 20_000;
const CLOCK_WAIT_TIMEOUT_MS = 120_000;

/**
 * Both worlds build their module the same way: a plain application context (errors-only logging, as a
 * TestingModule). @nestjs/testing's compile() would also preload @nestjs/platform-express (~90 ms on the first
 * test of a process), which neither world uses.
 */
async function compile(module: ReturnType<typeof AtomicQueuesModule.forRoot>): Promise<INestApplicationContext> {
  const moduleRef = await NestFactory.createApplicationContext(module, { logger: ['error'], abortOnError: false });
  await moduleRef.init();
  return moduleRef;
}

/** AtomicQueuesModule on the integration Redis (`inject('redisUrl')`), isolated by a unique keyPrefix. */
export const redisWorld: MakeContractWorld = async (config) => {
  const url = inject('redisUrl');
  const keyPrefix = `ct${randomBytes(5).toString('hex')}`;
  const moduleRef = await compile(AtomicQueuesModule.forRoot({ ...config, redis: { url }, keyPrefix }));
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  return {
    kind: 'redis',
    moduleRef,
    advance: sleep,
    waitFor: (predicate, what = 'condition') => waitFor(predicate, REAL_WAIT_TIMEOUT_MS, what, 10),
    async close() {
      await moduleRef.close();
      const redis = new Redis(url);
      try {
        const left = await scanKeys(redis, `${keyPrefix}:*`);
        if (left.length > 0) await redis.del(...left);
      } finally {
        redis.disconnect();
      }
    },
  };
};

/** AtomicQueuesTestingModule on its TestClock. */
export const memoryWorld: MakeContractWorld = async (config) => {
  const moduleRef = await compile(AtomicQueuesTestingModule.forRoot(config));
  const clock = moduleRef.get(TestClock);
  /** Runs the clock (timer to timer) until `done()`; throws after CLOCK_WAIT_TIMEOUT_MS of clock time. */
  const runClockUntil = async (done: () => boolean | Promise<boolean>, what = 'condition'): Promise<void> => {
    const deadline = clock.now() + CLOCK_WAIT_TIMEOUT_MS;
    for (;;) {
      await clock.settle();
      if (await done()) return;
      const next = clock.pending()[0];
      if (next && next.due <= deadline) {
        await clock.advanceTo(next.due);
        continue;
      }
      // No timer left to run: give promise chains a few more turns before giving up.
      for (let turn = 0; turn < 20; turn++) {
        await clock.settle();
        if (await done()) return;
      }
      throw new Error(`timed out after ${clock.now() - deadline + CLOCK_WAIT_TIMEOUT_MS} ms of clock time waiting for ${what} (no timer left before the deadline)`);
    }
  };
  return {
    kind: 'memory',
    moduleRef,
    advance: (ms) => clock.advance(ms),
    waitFor: runClockUntil,
    async close() {
      // A graceful shutdown waits for in-flight jobs, which wait on the clock: keep the clock running meanwhile.
      let closed = false;
      const closing = moduleRef.close().finally(() => (closed = true));
      await runClockUntil(() => closed, 'the application to close');
      await closing;
    },
  };
};
