import { simulatedRoundTrip as roundTrip } from '../clock/simulated-io.js';

const AsyncFunction = (async () => undefined).constructor;
const answering = new WeakSet<object>();

/**
 * Makes every `async` method of the class `backendClass` (its own and those it inherits, up to `stopAt`) answer
 * like a Redis command: the operation runs at once, against the store (so commands from different callers apply in
 * the order they were issued, atomically, like Lua scripts), and its result (or error) reaches the caller one
 * {@link roundTrip} later. Without this, a whole fetch → process → finish cycle of a Worker runs in one burst of
 * microtasks, and orderings that cannot happen on Redis do (every `active` event of a concurrent Worker before its
 * LockManager tracks the first job, so `cancelAllJobs()` misses some). Methods that are not `async` (key builders,
 * `close()`) are left as they are.
 *
 * Done once per class, on its prototype (call it right after the class): every instance answers this way without
 * paying for the wrapping when it is built (a test world builds one backend per Queue, Worker and QueueEvents).
 */
export function answerLikeRoundTrips<C extends abstract new (...args: never[]) => object>(backendClass: C, stopAt: object = Object.prototype): C {
  const target = backendClass.prototype as Record<string, unknown>;
  if (answering.has(target)) return backendClass;
  answering.add(target);
  const seen = new Set<string>();
  for (let proto: object | null = target; proto && proto !== stopAt && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      const method = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (typeof method !== 'function' || !(method instanceof AsyncFunction)) continue;
      Object.defineProperty(target, name, {
        configurable: true,
        writable: true,
        value: function answeredLater(this: object, ...args: unknown[]) {
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
  return backendClass;
}
