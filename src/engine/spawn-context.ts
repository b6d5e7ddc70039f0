import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Marks worker creations made by the engine (the dispatcher or the cron calling a registration's
 * `onSpawnWorker`): `createWorker` called inside gets a managed worker (counted against
 * `maxActiveEntitiesPerNode`, released when idle). Workers created by user code elsewhere keep running until
 * closed, as before.
 */
const spawnContext = new AsyncLocalStorage<{ managed: true }>();

export function runAsEngineSpawn<T>(fn: () => T): T {
  return spawnContext.run({ managed: true }, fn);
}

export function isEngineSpawn(): boolean {
  return spawnContext.getStore()?.managed === true;
}
