import { withBackend, type Processor, type Queue, type Worker } from 'bullmq';
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

  constructor(options: { store?: InMemoryQueueStore; clock?: Clock } = {}) {
    const factory = createInMemoryBackend(options);
    this.store = factory.store;
    this.classes = withBackend(factory) as unknown as ReturnType<typeof withBackend>;
  }

  createQueue(name: string, options: DriverQueueOptions): Queue {
    return new this.classes.Queue(name, { ...options, connection: {} }) as unknown as Queue;
  }

  createWorker(name: string, processor: Processor, options: DriverWorkerOptions): Worker {
    return new this.classes.Worker(name, processor, { ...options, connection: {} }) as unknown as Worker;
  }

  async close(): Promise<void> {
    this.store.dispose();
  }
}
