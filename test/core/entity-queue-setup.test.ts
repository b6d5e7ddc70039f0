import { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { deferred, makeCore, waitFor, type Core } from './support.js';

let core: Core | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await core?.close();
  core = undefined;
});

/** The design's snippet: `const queue = queueManager.getOrCreateEntityQueue(...)`, no await. */
describe('getOrCreateEntityQueue without await (real Redis)', () => {
  it('returns the BullMQ Queue itself (not a thenable); an add through the module completes its setup first', async () => {
    core = makeCore();
    const queue = core.queues.getOrCreateEntityQueue('order', '123');
    expect(queue).toBeInstanceOf(Queue);
    expect('then' in queue).toBe(false);
    expect(queue.name).toBe('order-123-queue');
    await core.queues.addJob(queue.name, 'process', { data: 'hello' });
    expect(await queue.getGlobalConcurrency()).toBe(1);
    expect(await core.index.getEntityQueues('order')).toEqual({ '123': 'order-123-queue' });
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ '123': 1 });
    expect((await core.queues.getJobCounts(queue.name)).waiting).toBe(1);
  });

  it('awaiting it keeps working and gives the same cached object', async () => {
    core = makeCore();
    const plain = core.queues.getOrCreateEntityQueue('order', 'a1');
    const awaited = await core.queues.getOrCreateEntityQueue('order', 'a1');
    expect(awaited).toBe(plain);
    await core.queues.addJob(awaited.name, 'x', {});
    expect(await awaited.getGlobalConcurrency()).toBe(1);
  });

  it('a worker already running sees global concurrency 1 from the first job on, even when the setup is slow', async () => {
    core = makeCore();
    const c = core;
    const original = Queue.prototype.setGlobalConcurrency;
    vi.spyOn(Queue.prototype, 'setGlobalConcurrency').mockImplementation(async function (this: Queue, n: number) {
      await new Promise((r) => setTimeout(r, 300)); // a slow round trip: the add must wait for it
      return original.call(this, n);
    });
    const seen: Array<number | null> = [];
    await c.workers.createWorker({
      workerName: entityWorkerName('order', 'v1'),
      queueName: 'order-v1-queue',
      entity: { entityType: 'order', entityId: 'v1' },
      processor: async () => void seen.push(await c.queues.getOrCreateEntityQueue('order', 'v1').getGlobalConcurrency()),
    });
    const queue = c.queues.getOrCreateEntityQueue('order', 'v1');
    const started = Date.now();
    await c.queues.addJob(queue.name, 'first', {});
    expect(Date.now() - started).toBeGreaterThanOrEqual(250); // the add waited for the setup
    await c.queues.addJob(queue.name, 'second', {});
    await waitFor(() => seen.length === 2, 10_000, 'both jobs to run');
    expect(seen).toEqual([1, 1]);
  });

  it('a failed setup fails the add that waits for it (nothing added), and the next call runs it again', async () => {
    core = makeCore();
    const original = Queue.prototype.setGlobalConcurrency;
    const failure = deferred<void>();
    const spy = vi.spyOn(Queue.prototype, 'setGlobalConcurrency').mockImplementationOnce(async () => {
      await failure.promise;
      throw new Error('setup refused by Redis');
    });
    const queue = core.queues.getOrCreateEntityQueue('order', 'f1'); // starts the setup, does not throw
    const add = core.queues.addJob(queue.name, 'x', { n: 1 });
    failure.resolve();
    await expect(add).rejects.toThrow('setup refused by Redis');
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({});
    expect(await queue.getGlobalConcurrency()).toBeNull();

    spy.mockImplementation(function (this: Queue, n: number) {
      return original.call(this, n);
    });
    await core.queues.addJob(queue.name, 'x', { n: 2 }); // runs the setup again
    expect(await queue.getGlobalConcurrency()).toBe(1);
    expect(await core.index.getEntitiesWithJobs('order')).toEqual({ f1: 1 });
    expect((await core.queues.getJobCounts(queue.name)).waiting).toBe(1);
  });

  it('a setup that fails with nobody adding is not cached: the next getOrCreateEntityQueue retries it', async () => {
    core = makeCore();
    const original = Queue.prototype.setGlobalConcurrency;
    const spy = vi.spyOn(Queue.prototype, 'setGlobalConcurrency').mockRejectedValueOnce(new Error('transient'));
    const queue = core.queues.getOrCreateEntityQueue('order', 'r1');
    await waitFor(() => spy.mock.calls.length === 1, 2000, 'the first setup attempt');
    await new Promise((r) => setTimeout(r, 50)); // its rejection is handled (no unhandled rejection fails the run)
    expect(await queue.getGlobalConcurrency()).toBeNull();
    spy.mockImplementation(function (this: Queue, n: number) {
      return original.call(this, n);
    });
    expect(core.queues.getOrCreateEntityQueue('order', 'r1')).toBe(queue);
    await waitFor(async () => (await queue.getGlobalConcurrency()) === 1, 5000, 'the retried setup');
    await waitFor(async () => (await core!.index.getEntityQueues('order')).r1 === 'order-r1-queue', 5000, 'the index entry');
  });

  it('bad entity ids throw synchronously, before any queue object or key exists', async () => {
    core = makeCore();
    expect(() => core!.queues.getOrCreateEntityQueue('order', 'a:b')).toThrow(AtomicQueuesValidationError);
    expect(core.queues.openQueueNames()).toEqual([]);
    expect(await core.keys()).toEqual([]);
  });
});
