import { simulatedRoundTrip as roundTrip } from '../clock/simulated-io.js';

const AsyncFunction = (async () => undefined).constructor;

/**
 * Makes every `async` method of `backend`'s class answer like a Redis command: the operation runs at once, against
 * the store (so commands from different callers apply in the order they were issued, atomically, like Lua
 * scripts), and its result (or error) reaches the caller one {@link roundTrip} later. Without this, a whole
 * fetch → process → finish cycle of a Worker runs in one burst of microtasks, and orderings that cannot happen on
 * Redis do (every `active` event of a concurrent Worker before its LockManager tracks the first job, so
 * `cancelAllJobs()` misses some). Methods that are not `async` (key builders, `close()`) are left as they are.
 */
export function answerLikeRoundTrips<T extends object>(backend: T, stopAt: object = Object.prototype): T {
  const seen = new Set<string>();
  for (let proto = Object.getPrototypeOf(backend); proto && proto !== stopAt && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      const method = descriptor?.value;
      if (typeof method !== 'function' || !(method instanceof AsyncFunction)) continue;
      Object.defineProperty(backend, name, {
        configurable: true,
        writable: true,
        value: function answeredLater(this: T, ...args: unknown[]) {
          const reply = (method as (...a: unknown[]) => Promise<unknown>).apply(this, args);
          return reply.then(
            async (value) => {
              await roundTrip();
              return value;
            },
            async (error: unknown) => {
              await roundTrip();
              throw error;
            },
          );
        },
      });
    }
  }
  return backend;
}
