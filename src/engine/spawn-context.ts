import type { EntityRef } from './engine-signals.service.js';

/**
 * Marks worker creations made by the engine (the dispatcher or the cron calling a registration's
 * `onSpawnWorker`): a `createWorker` for that entity made while the callback runs gets a managed worker (counted
 * against `maxActiveEntitiesPerNode`, released when idle). Workers created by user code elsewhere keep running
 * until closed.
 *
 * Tracked per entity on this node rather than per async context: an `AsyncLocalStorage` enables Node's promise
 * hooks for the whole process, which cost a fifth of the throughput of a node serving 1,000 entities (every
 * promise of every job paid for them; `npm run bench`, P2). The consequence: a `createWorker` for the entity made
 * by other code of this node while its spawn runs also counts as part of the spawn.
 */
interface SpawnStore {
  /** createWorker calls for the entity made while its spawn runs. */
  createWorkerCalls: number;
}

const entityKey = (entity: EntityRef): string => `${entity.entityType}\u0000${entity.entityId}`;

export class EngineSpawns {
  /** Spawns in progress by entity; a list because the cron and the dispatcher may spawn the same entity at once. */
  private readonly inProgress = new Map<string, SpawnStore[]>();

  /**
   * Runs `fn` (an `onSpawnWorker` call for `entity`) as an engine spawn. Resolves with the number of entity
   * `createWorker` calls made for the entity meanwhile: 0 means the callback declined (e.g. a fencing lease still
   * held by the previous owner).
   */
  async run(entity: EntityRef, fn: () => unknown): Promise<{ createWorkerCalls: number }> {
    const key = entityKey(entity);
    const store: SpawnStore = { createWorkerCalls: 0 };
    const stores = this.inProgress.get(key);
    if (stores) stores.push(store);
    else this.inProgress.set(key, [store]);
    try {
      await fn();
    } finally {
      const now = this.inProgress.get(key)!;
      now.splice(now.indexOf(store), 1);
      if (now.length === 0) this.inProgress.delete(key);
    }
    return { createWorkerCalls: store.createWorkerCalls };
  }

  /** True while an engine spawn of the entity runs on this node. */
  isSpawning(entity: EntityRef): boolean {
    return this.inProgress.has(entityKey(entity));
  }

  /** createWorker reports an entity worker request (whatever its outcome) to the entity's spawns in progress. */
  noteCreateWorker(entity: EntityRef): void {
    for (const store of this.inProgress.get(entityKey(entity)) ?? []) store.createWorkerCalls += 1;
  }
}
