import { EventEmitter } from 'node:events';
import { SystemClock, type Clock } from '../../src/ports/clock.js';
import { ClientList } from './client-list.js';
import { QueueState } from './queue-state.js';

export interface InMemoryQueueStoreOptions {
  /** Time source for delays, backoff, locks, stalled checks, block timeouts. Default: SystemClock. */
  clock?: Clock;
}

/** A job the store took in (`added` event): what a producer enqueued, at the store's clock time. */
export interface StoreAddedJob {
  id: string;
  name: string;
  /** The job data as stored (JSON text). */
  data: string;
  /** > 0 when added with a delay (ms). */
  delay: number;
  /** > 0 when added with a priority. */
  priority: number;
  lifo: boolean;
  at: number;
}

/**
 * How jobs were deleted on request through the queue API (`removed` event); `deduplicate`: a delayed job
 * replaced by an add with `deduplication: { replace: true }`; `scheduler`: a job scheduler's pending iteration,
 * replaced by upsertJobScheduler or deleted by removeJobScheduler.
 */
export type StoreRemoval = 'remove' | 'drain' | 'clean' | 'obliterate' | 'deduplicate' | 'scheduler';

export interface InMemoryStoreEvents {
  /** A stalled job was moved back to wait (by any worker's or the clock-driven stalled check). */
  stalled: [queue: string, jobId: string];
  /** A new job was stored (an add with an id already present is not one), in the order the store took them. */
  added: [queue: string, job: StoreAddedJob];
  /** Jobs deleted on request through the queue API (Queue#remove, drain, clean, obliterate, a deduplication `replace`). */
  removed: [queue: string, jobIds: readonly string[], how: StoreRemoval];
}

/**
 * The shared "Redis" of one test world: every queue (keyed by `<prefix>:<name>`) lives here, so Queues, Workers
 * and QueueEvents built from backends on the same store see the same jobs, exactly like clients of one Redis.
 */
export class InMemoryQueueStore extends EventEmitter<InMemoryStoreEvents> {
  readonly clock: Clock;
  /** The named connections of the live Workers and QueueEvents (what `CLIENT LIST` shows on Redis). */
  readonly clients: ClientList;
  private readonly queues = new Map<string, QueueState>();

  constructor(options: InMemoryQueueStoreOptions = {}) {
    super();
    const clock = options.clock ?? new SystemClock();
    for (const method of ['now', 'setTimeout', 'setInterval', 'clear'] as const) {
      if (typeof (clock as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new Error(`InMemoryQueueStore: options.clock must implement Clock (missing ${method}()), got ${String(clock)}`);
      }
    }
    this.clock = clock;
    this.clients = new ClientList(clock);
  }

  /** The state of one queue, created on first use. */
  queue(qualifiedName: string): QueueState {
    let state = this.queues.get(qualifiedName);
    if (!state) {
      state = new QueueState(qualifiedName, this.clock, (queue, jobId) => this.emit('stalled', queue, jobId), (name) => this.queues.get(name));
      this.queues.set(qualifiedName, state);
    }
    return state;
  }

  /** Whether the queue (`<prefix>:<name>`) exists in this store (without creating it). */
  has(qualifiedName: string): boolean {
    return this.queues.has(qualifiedName);
  }

  /** Qualified names (`<prefix>:<name>`) of the queues that exist in this store. */
  queueNames(): string[] {
    return [...this.queues.keys()];
  }

  /** Stops every timer the store scheduled on its clock (delayed-job promotion, rate-limit windows). */
  dispose(): void {
    for (const q of this.queues.values()) {
      q.stopTimers();
      q.limiter.stop();
    }
  }
}
