import type { BackendFactory, QueueBaseOptions } from 'bullmq';
import type { Clock } from '../../src/ports/clock.js';
import { InMemoryQueueBackend } from './in-memory-backend.js';
import { InMemoryQueueStore } from './in-memory-store.js';

export interface InMemoryBackendOptions {
  /** The shared "Redis" of the test world. Default: a new store on `clock`. */
  store?: InMemoryQueueStore;
  /** Clock for a new store (must be the store's clock when both are given). Default: SystemClock. */
  clock?: Clock;
}

/** A BullMQ `BackendFactory` with the store it writes to, for assertions. */
export type InMemoryBackendFactory = BackendFactory<InMemoryQueueBackend, unknown> & { readonly store: InMemoryQueueStore };

/**
 * Builds a BullMQ 6 `BackendFactory` over an in-memory store: `withBackend(createInMemoryBackend(...))` gives
 * real `Queue`/`Worker`/`QueueEvents` classes with no Redis; `setDefaultBackendFactory(...)` makes it the
 * process default. Connection options are ignored (no socket is ever opened).
 */
export function createInMemoryBackend(options: InMemoryBackendOptions = {}): InMemoryBackendFactory {
  if (options.store && options.clock && options.store.clock !== options.clock) {
    throw new Error('createInMemoryBackend: options.clock must be the clock of options.store (or pass only one of them)');
  }
  const store = options.store ?? new InMemoryQueueStore({ clock: options.clock });
  // A `function`, not an arrow: BullMQ calls it as `this.backendFactory(...)`, so `this` is the Queue/Worker/
  // QueueEvents being built (a Worker's stalled check then runs on the store's clock, see stalled-check.ts).
  const factory = function (this: unknown, name: string, opts: QueueBaseOptions<unknown>, factoryOpts: { blocking?: boolean; withBlockingConnection?: boolean } = {}) {
    const o = (opts ?? {}) as QueueBaseOptions<unknown> & Record<string, unknown>;
    return new InMemoryQueueBackend(store, name, o, { worker: !!factoryOpts.withBlockingConnection, owner: this });
  };
  return Object.assign(factory, { store }) as InMemoryBackendFactory;
}
