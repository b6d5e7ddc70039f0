import type { EntityQueueStore, JobPresence } from '../../src/index/entity-queue-store.js';
import type { RetireOutcome } from '../../src/index/index-manager.service.js';
import type { InMemoryQueueStore } from '../backend/in-memory-store.js';
import type { QueueState } from '../backend/queue-state.js';

/** States a job of a queue that is not retired can be in. */
const UNFINISHED = ['wait', 'active', 'delayed', 'prioritized'] as const;

/**
 * The index sweeper's view of the in-memory queue store (the testing module's counterpart of
 * RedisEntityQueueStore). A job is finished when it has `finishedOn`, missing when the store has no such job.
 * Retiring empties the queue's state (kept completed/failed jobs included); the empty state object stays in the
 * store, because Queue and Worker backends hold it.
 */
export class InMemoryEntityQueueStore implements EntityQueueStore {
  constructor(
    private readonly store: InMemoryQueueStore,
    private readonly keyPrefix: string,
  ) {}

  async jobPresence(queueName: string, jobIds: readonly string[]): Promise<JobPresence[]> {
    const state = this.state(queueName);
    return jobIds.map((id) => {
      const job = state?.getJob(id);
      if (!job) return 'missing';
      return job.finishedOn !== undefined ? 'finished' : 'unfinished';
    });
  }

  async retire(queueName: string, retireIndex: (queueBaseKey?: string) => Promise<RetireOutcome>): Promise<RetireOutcome> {
    if (!this.isEmpty(queueName)) return 'busy';
    const outcome = await retireIndex(undefined);
    // The in-memory Redis ran the index step synchronously; this step follows in the continuation of its reply,
    // before an adder that saw the entity unindexed (its own reply comes after ours) has set the queue up again.
    if (outcome === 'retired' && this.isEmpty(queueName)) this.state(queueName)?.clear();
    return outcome;
  }

  private isEmpty(queueName: string): boolean {
    const state = this.state(queueName);
    return !state || UNFINISHED.every((s) => state.count(s) === 0);
  }

  private state(queueName: string): QueueState | undefined {
    const name = `${this.keyPrefix}:${queueName}`;
    return this.store.has(name) ? this.store.queue(name) : undefined;
  }
}
