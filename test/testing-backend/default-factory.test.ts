import { Queue, Worker, setDefaultBackendFactory } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createInMemoryBackend } from '../../testing/backend/index.js';
import { TestClock } from '../../testing/clock/index.js';

afterEach(() => setDefaultBackendFactory()); // back to Redis for every other test in this process

describe('createInMemoryBackend as the process-wide default', () => {
  it('plain `new Queue` / `new Worker` run in memory after setDefaultBackendFactory', async () => {
    const clock = new TestClock();
    const factory = createInMemoryBackend({ clock });
    setDefaultBackendFactory(factory);
    const queue = new Queue('plain', { connection: {} });
    const seen: unknown[] = [];
    const worker = new Worker('plain', async (job) => seen.push(job.data), { connection: {} });
    await queue.add('x', { n: 1 }, { delay: 100 });
    await clock.runForegroundTimers();
    expect(seen).toEqual([{ n: 1 }]);
    expect(factory.store.queueNames()).toEqual(['bull:plain']);
    await worker.close();
    await queue.close();
  });

  it('rejects a clock that is not a Clock', () => {
    expect(() => createInMemoryBackend({ clock: { now: () => 0 } as never })).toThrow(/options\.clock must implement Clock \(missing setTimeout\(\)\)/);
  });

  it('rejects a clock that is not the store clock', () => {
    const a = createInMemoryBackend({ clock: new TestClock() });
    expect(() => createInMemoryBackend({ store: a.store, clock: new TestClock() })).toThrow(/options\.clock must be the clock of options\.store/);
  });
});
