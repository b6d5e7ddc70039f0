import { withBackend, type Processor } from 'bullmq';
import { TestClock } from '../../testing/clock/index.js';
import { createInMemoryBackend, type InMemoryQueueStore } from '../../testing/backend/index.js';

/** A test world: one TestClock, one in-memory store, real BullMQ classes on it; `close()` closes everything. */
export function createWorld() {
  const clock = new TestClock();
  const factory = createInMemoryBackend({ clock });
  const classes = withBackend(factory);
  const closers: { close(): Promise<unknown> }[] = [];
  const track = <T extends { close(): Promise<unknown> }>(x: T): T => {
    closers.push(x);
    return x;
  };
  return {
    clock,
    store: factory.store as InMemoryQueueStore,
    factory,
    classes,
    queue: (name: string, opts: Record<string, unknown> = {}) => track(new classes.Queue(name, { connection: {}, ...opts })),
    /** `processor: null` gives a worker for manual fetching (`getNextJob`). */
    worker: (name: string, processor: Processor | null, opts: Record<string, unknown> = {}) =>
      track(new classes.Worker(name, processor ?? undefined, { connection: {}, ...opts })),
    queueEvents: (name: string, opts: Record<string, unknown> = {}) => track(new classes.QueueEvents(name, { connection: {}, ...opts })),
    async close() {
      for (const c of closers.reverse()) await c.close();
      factory.store.dispose();
    },
  };
}

export type World = ReturnType<typeof createWorld>;
