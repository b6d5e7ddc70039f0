import { randomBytes } from 'node:crypto';
import * as bullmq from 'bullmq';
import { withBackend } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, inject } from 'vitest';
import { TestClock } from '../../testing/clock/index.js';
import { createInMemoryBackend } from '../../testing/backend/index.js';
import { waitFor as pollFor } from '../support/wait.js';
import { scanKeys } from '../core/support.js';

/**
 * Backend conformance: every test in test/conformance runs twice, once on a real Redis (the tests' own
 * redis-server, `inject('redisUrl')`) and once on the in-memory backend driven by a TestClock. A test states
 * BullMQ's behaviour as a user's code sees it; both runs must pass. A test that can only run on Redis (it needs a
 * raw Redis client) is written `it.skipIf(kind === 'memory')('<what> (memory: <reason>)', …)`, the reason in its title.
 */
export type BackendKind = 'redis' | 'memory';

type Classes = Pick<typeof bullmq, 'Queue' | 'Worker' | 'QueueEvents' | 'FlowProducer' | 'Job'>;

export interface BackendWorld {
  readonly kind: BackendKind;
  /** BullMQ's classes bound to this backend (for memory: `withBackend(createInMemoryBackend({ clock }))`). */
  readonly classes: Classes;
  /** Options every BullMQ object of this world needs: connection and a unique prefix. */
  readonly opts: { connection: bullmq.ConnectionOptions; prefix: string };
  /** The memory world's clock (undefined on Redis). */
  readonly clock: TestClock | undefined;
  /** New tracked objects, closed by close() in reverse order. */
  queue(name: string, opts?: Partial<bullmq.QueueOptions>): bullmq.Queue;
  worker(name: string, processor: bullmq.Processor | null, opts?: Partial<bullmq.WorkerOptions>): bullmq.Worker;
  queueEvents(name: string, opts?: Partial<bullmq.QueueEventsOptions>): bullmq.QueueEvents;
  flowProducer(opts?: Partial<bullmq.QueueBaseOptions>): bullmq.FlowProducer;
  /** Let `ms` pass: a real wait on Redis, `clock.advance(ms)` in memory. */
  advance(ms: number): Promise<void>;
  /** Resolves once `predicate` holds: polls on Redis (real deadline), runs the clock in memory. */
  waitFor(predicate: () => boolean | Promise<boolean>, what?: string, timeoutMs?: number): Promise<void>;
  /** Closes every tracked object and removes this world's keys (Redis) or store (memory). */
  close(): Promise<void>;
}

const uniquePrefix = () => `cf${randomBytes(5).toString('hex')}`;

function tracked(kind: BackendKind, classes: Classes, opts: BackendWorld['opts'], clock: TestClock | undefined) {
  const closers: { close(): Promise<unknown> }[] = [];
  const track = <T extends { close(): Promise<unknown> }>(x: T): T => {
    closers.push(x);
    return x;
  };
  return {
    kind,
    classes,
    opts,
    clock,
    queue: (name: string, o: Partial<bullmq.QueueOptions> = {}) => track(new classes.Queue(name, { ...opts, ...o })),
    worker: (name: string, processor: bullmq.Processor | null, o: Partial<bullmq.WorkerOptions> = {}) =>
      track(new classes.Worker(name, processor ?? undefined, { ...opts, ...o })),
    queueEvents: (name: string, o: Partial<bullmq.QueueEventsOptions> = {}) => track(new classes.QueueEvents(name, { ...opts, ...o })),
    flowProducer: (o: Partial<bullmq.QueueBaseOptions> = {}) => track(new classes.FlowProducer({ ...opts, ...o })),
    async closeTracked() {
      for (const c of closers.reverse()) await c.close();
    },
  };
}

export async function redisBackendWorld(): Promise<BackendWorld> {
  const url = new URL(inject('redisUrl'));
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const prefix = uniquePrefix();
  const t = tracked('redis', bullmq, { connection, prefix }, undefined);
  return {
    ...t,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    waitFor: (predicate, what = 'condition', timeoutMs = 10_000) => pollFor(predicate, timeoutMs, what, 5),
    async close() {
      await t.closeTracked();
      const redis = new Redis(url.toString());
      try {
        const left = await scanKeys(redis, `${prefix}:*`);
        if (left.length > 0) await redis.del(...left);
      } finally {
        redis.disconnect();
      }
    },
  };
}

export interface WorldOptions {
  /**
   * Memory world: `'real-time'` starts the TestClock at Date.now() instead of its fixed default, for tests of
   * values BullMQ's own classes check against Date.now() (e.g. upsertJobScheduler's `endDate`).
   */
  memoryClockStart?: 'real-time';
}

export async function memoryBackendWorld(options: WorldOptions = {}): Promise<BackendWorld> {
  const clock = new TestClock(options.memoryClockStart === 'real-time' ? { start: Date.now() } : {});
  const factory = createInMemoryBackend({ clock });
  const classes = withBackend(factory) as unknown as Classes;
  const t = tracked('memory', classes, { connection: {}, prefix: uniquePrefix() }, clock);
  return {
    ...t,
    advance: (ms) => clock.advance(ms),
    async waitFor(predicate, what = 'condition', timeoutMs = 60_000) {
      // Clock time: step from timer to timer (every state change happens at a timer or in the async work a
      // step settles, so none is skipped), at most 100 ms at a time; 10 ms when no timer is pending.
      const deadline = clock.now() + timeoutMs;
      while (!(await predicate())) {
        if (clock.now() > deadline) throw new Error(`in-memory backend: ${what} did not hold within ${timeoutMs} ms of clock time`);
        const next = clock.pending()[0];
        await clock.advance(next ? Math.min(100, Math.max(1, next.inMs)) : 10);
      }
    },
    async close() {
      await t.closeTracked();
      factory.store.dispose();
    },
  };
}

/** Runs `body` once per backend: `describe('<title> [redis]')` and `describe('<title> [memory]')`. */
export function describeOnBothBackends(
  title: string,
  body: (world: () => BackendWorld, kind: BackendKind) => void,
  options: WorldOptions = {},
): void {
  for (const kind of ['redis', 'memory'] as const) {
    describe(`${title} [${kind}]`, () => {
      let current: BackendWorld | undefined;
      // Each test gets a fresh world.
      beforeEach(async () => {
        current = kind === 'redis' ? await redisBackendWorld() : await memoryBackendWorld(options);
      });
      afterEach(async () => {
        await current?.close();
        current = undefined;
      });
      body(() => {
        if (!current) throw new Error('conformance world used outside a test');
        return current;
      }, kind);
    });
  }
}
