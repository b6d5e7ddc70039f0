import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../../src/ports/clock.js';
import { InMemoryQueueDriver } from '../backend/in-memory-queue-driver.js';
import type { InMemoryQueueStore } from '../backend/in-memory-store.js';
import { createClockedRedisMock, type ClockedRedisMock } from '../redis-mock/clocked-redis-mock.js';

/**
 * The in-memory "infrastructure" of one testing module: an ioredis-mock world whose TTLs follow the module's
 * clock (heartbeats, locks, indices, shutdown pub/sub) and a BullMQ queue driver over an in-memory store on the
 * same clock. Nothing here opens a socket. The mock connections close last, on application shutdown, like the
 * production module's own connections.
 */
@Injectable()
export class AtomicQueuesInMemoryPorts implements OnApplicationShutdown {
  readonly redis: ClockedRedisMock;
  readonly driver: InMemoryQueueDriver;

  constructor(@Inject(ATOMIC_QUEUES_CLOCK) clock: Clock) {
    this.redis = createClockedRedisMock(clock);
    this.driver = new InMemoryQueueDriver({ clock });
  }

  /** The shared queue store (all queues of this module), for assertions. */
  get store(): InMemoryQueueStore {
    return this.driver.store;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.close();
  }
}
