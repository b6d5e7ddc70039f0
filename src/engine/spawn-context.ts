import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks worker creations made by the engine (the dispatcher or the cron calling a registration's
 * `onSpawnWorker`): `createWorker` called inside gets a managed worker (counted against
 * `maxActiveEntitiesPerNode`, released when idle). Workers created by user code elsewhere keep running until
 * closed, as before.
 */
interface SpawnStore {
  managed: true;
  /** createWorker calls for an entity made inside this spawn. */
  createWorkerCalls: number;
}

const spawnContext = new AsyncLocalStorage<SpawnStore>();

/**
 * Runs `fn` (an `onSpawnWorker` call) as an engine spawn. Resolves with the number of entity `createWorker`
 * calls it made: 0 means the callback declined (e.g. a fencing lease still held by the previous owner).
 */
export async function runAsEngineSpawn(fn: () => unknown): Promise<{ createWorkerCalls: number }> {
  const store: SpawnStore = { managed: true, createWorkerCalls: 0 };
  await spawnContext.run(store, fn);
  return { createWorkerCalls: store.createWorkerCalls };
}

export function isEngineSpawn(): boolean {
  return spawnContext.getStore()?.managed === true;
}

/** createWorker reports an entity worker request made inside an engine spawn (whatever its outcome). */
export function noteEngineSpawnCreateWorker(): void {
  const store = spawnContext.getStore();
  if (store) store.createWorkerCalls += 1;
}
