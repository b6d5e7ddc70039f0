import { withBackend, type Processor, type Queue, type Worker } from 'bullmq';
import type { JobWaiter } from '../../src/engine/job-waiter.js';
import { withJobWaiter } from '../../src/engine/worker-backend.js';
import type { Clock } from '../../src/ports/clock.js';
import type { DriverQueueOptions, DriverWorkerOptions, QueueDriver } from '../../src/ports/queue-driver.js';
import { createInMemoryBackend } from './create-in-memory-backend.js';
import type { InMemoryQueueStore } from './in-memory-store.js';

/**
 * `QueueDriver` (src/ports/queue-driver.ts) building real BullMQ Queues and Workers on the in-memory backend.
 * The services treat it like the Redis driver; `close()` stops the store's timers (the services close their
 * own queues and workers first, as with Redis).
 */
export class InMemoryQueueDriver implements QueueDriver {
  readonly kind = 'memory' as const;
  readonly store: InMemoryQueueStore;
  private readonly classes: ReturnType<typeof withBackend>;
  private readonly factory: ReturnType<typeof createInMemoryBackend>;

  constructor(options: { store?: InMemoryQueueStore; clock?: Clock } = {}) {
    const factory = createInMemoryBackend(options);
    this.factory = factory;
    this.store = factory.store;
    this.classes = withBackend(factory) as unknown as ReturnType<typeof withBackend>;
  }

  createQueue(name: string, options: DriverQueueOptions): Queue {
    return new this.classes.Queue(name, { ...options, connection: {} }) as unknown as Queue;
  }

  /**
   * With a `waiter` (entity workers), the engine wakes the worker as on Redis; the in-memory backend's own
   * in-process wake-up is raced beside it, so adds that bypass the module are seen at once too.
   */
  createWorker(name: string, processor: Processor, options: DriverWorkerOptions, waiter?: JobWaiter): Worker {
    if (!waiter) return new this.classes.Worker(name, processor, { ...options, connection: {} }) as unknown as Worker;
    const factory = this.factory;
    const Ctor = this.classes.Worker as unknown as new (...args: unknown[]) => Worker;
    // `function`: BullMQ calls the factory as its own method; `this` (the Worker) is passed on to the backend.
    return new Ctor(name, processor, { ...options, connection: {} }, function (this: unknown, n: string, o: never, f: never) {
      return withJobWaiter(factory.call(this, n, o, f), waiter, { raceBase: true });
    });
  }

  async close(): Promise<void> {
    this.store.dispose();
  }
}
