import { ConnectionClosedError, type IQueueBackend } from 'bullmq';
import type { JobWaiter } from './job-waiter.js';

export interface EngineBackendOptions {
  /**
   * Also wait on the base backend's own blocking primitive and take whichever answers first (the in-memory
   * backend wakes its waiters in-process on every add, including adds that bypass the module).
   */
  raceBase?: boolean;
}

type Method = (...args: unknown[]) => unknown;

/** What a severed backend still answers: identity, events and teardown. */
const KEPT = new Set(['close', 'disconnect', 'disconnectBlocking', 'reconnectBlocking', 'toKey', 'parseNodeKey', 'clientName', 'forQueue', 'on', 'once', 'off', 'emit', 'removeListener', 'removeAllListeners', 'listeners', 'listenerCount', 'waitUntilReady', 'setName']);

/**
 * A Worker's backend whose "wait for the next job" is answered by the node (`JobWaiter`) instead of a blocking
 * Redis connection of its own; everything else (fetch, finish, locks, stalled checks) is the base backend's,
 * over the node's shared connection. The base must not own a blocking connection.
 */
export function withJobWaiter<B extends IQueueBackend>(base: B, waiter: JobWaiter, options: EngineBackendOptions = {}): B {
  const waitForJob = async (blockTimeout: number): Promise<{ member: string; score: number } | null> => {
    const timeoutMs = Math.max(0, blockTimeout * 1000);
    if (!options.raceBase) return (await waiter.wait(timeoutMs)) === 'woken' ? { member: '0', score: 0 } : null;
    const theirs = base.waitForJob(blockTimeout).then((r) => (r ? 'woken' : 'timeout'));
    theirs.catch(() => undefined);
    const mine = waiter.wait(timeoutMs);
    mine.catch(() => undefined);
    const first = await Promise.race([mine, theirs]).catch(() => 'timeout' as const);
    // Settle the loser: end our wait quietly, cut the base's blocked call and let it block again next time.
    if (waiter.isWaiting && !waiter.isReleasing) waiter.wake();
    await base.disconnectBlocking(false).catch(() => undefined);
    await base.reconnectBlocking().catch(() => undefined);
    // Released or closed while the base answered: no fetch (rethrows ConnectionClosedError).
    await mine;
    return first === 'woken' ? { member: '0', score: 0 } : null;
  };
  // `disconnect()` severs this worker alone (the shared connection stays up): like a dropped connection, every
  // later datastore call fails, so its lock is no longer renewed and its job can only finish elsewhere.
  let severed = false;
  const bound = new Map<PropertyKey, { method: Method; bound: Method }>();
  return new Proxy(base, {
    get(target, prop, receiver) {
      if (severed && typeof prop === 'string' && !KEPT.has(prop)) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value === 'function') return () => Promise.reject(new ConnectionClosedError());
      }
      switch (prop) {
        case 'disconnect':
          return async () => {
            severed = true;
            waiter.cancel();
            await target.disconnect();
          };
        case 'waitForJob':
          return waitForJob;
        case 'disconnectBlocking':
          return async (wait?: boolean) => {
            waiter.cancel();
            if (options.raceBase) await target.disconnectBlocking(wait);
          };
        case 'reconnectBlocking':
          return async () => {
            if (options.raceBase) await target.reconnectBlocking();
          };
        default: {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          // Bound once per method: the Worker reaches its backend for every command of every job.
          const cached = bound.get(prop);
          if (cached?.method === value) return cached.bound;
          const fresh = { method: value as Method, bound: (value as Method).bind(target) };
          bound.set(prop, fresh);
          return fresh.bound;
        }
      }
    },
  });
}
