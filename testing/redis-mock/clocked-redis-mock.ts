import type { Redis } from 'ioredis';
import type { Clock } from '../../src/ports/clock.js';
import { RedisMock, requireFromIoredisMock } from './ioredis-mock.js';
import { installLuaScripting } from './lua/scripting.js';

/**
 * ioredis-mock instances whose key TTLs follow a {@link Clock}.
 *
 * ioredis-mock stores an absolute expiry per key (`Date.now() + ttl`) and checks it lazily with `Date.now()`
 * whenever a command touches the key (its src/expires.js). Every command emulator runs synchronously inside
 * the call (the returned promise is already resolved), pipelines/multis run all of theirs synchronously inside
 * `exec()`, and Lua scripts (fengari) call back into the same emulators synchronously. So the cleanest seam is a
 * SCOPED override: while one of these instances executes a command, `Date.now` returns `clock.now()`, and it is
 * restored before the call returns. No global fake timers, nothing else in the process sees the clock.
 * Lua scripts (EVAL, EVALSHA, defineCommand) run on one persistent, compiled-once fengari state with Redis 7's
 * conversion rules instead of ioredis-mock's VM-per-call (see ./lua/scripting.ts).
 * Limits: `TIME` reads `new Date()` (real time); `XREAD BLOCK` polls with real 100 ms timers.
 */
export interface ClockedRedisMock {
  /** Command connection. */
  client: Redis;
  /** Subscriber connection (same data world, pub/sub between them works). */
  subscriber: Redis;
  /** Another connection to the same data world (e.g. a second node's client). */
  duplicate(): Redis;
  /** Disconnects every connection created by this world. */
  close(): Promise<void>;
}

export interface ClockedRedisMockOptions {
  /** ioredis `keyPrefix` for both connections. */
  keyPrefix?: string;
  /** Name of the data world. Instances with the same name share data; default is a fresh unique world. */
  world?: string;
}

let worldCounter = 0;

type RedisMockClass = new (opts: object) => Redis;

/**
 * ioredis-mock with its "Unsupported command" stubs on the prototype. Its constructor (`_initCommands`) gives EVERY
 * instance ~800 own throwing stubs: one `in` check, `Object.defineProperty` and closure per unsupported command and
 * its Buffer variant, read from its `data/command-list.json` (used nowhere else): most of the cost of a new
 * connection. Here the same stubs (same names, same TypeError) are defined once on the prototype, and while the
 * base `_initCommands` runs (synchronously) it sees an empty list, so instances only get their real commands.
 * Falls back to the plain class if this ioredis-mock has another layout.
 */
const LeanRedisMock: RedisMockClass = (() => {
  const Base = RedisMock as unknown as RedisMockClass & { prototype: { _initCommands?: () => void } };
  let commandList: { list?: unknown };
  try {
    commandList = requireFromIoredisMock('../data/command-list.json') as { list?: unknown };
  } catch {
    return Base;
  }
  const all = commandList.list;
  if (!Array.isArray(all) || typeof Base.prototype._initCommands !== 'function') return Base;
  class Lean extends Base {
    _initCommands(this: { _initCommands(): void }): void {
      commandList.list = [];
      try {
        Base.prototype._initCommands!.call(this);
      } finally {
        commandList.list = all;
      }
    }
  }
  const docsLink = 'https://github.com/stipsan/ioredis-mock/blob/main/compat.md#supported-commands-';
  const names = (all as string[]).filter((c) => !c.includes('|'));
  for (const name of [...names, ...names.map((c) => `${c}Buffer`)]) {
    if (name in Base.prototype) continue; // never shadow a real method (multi, exec, duplicate, …)
    Object.defineProperty(Lean.prototype, name, {
      value: () => {
        throw new TypeError(`Unsupported command: ${JSON.stringify(name)}, please check the full list over mocked commands: ${docsLink}`);
      },
      writable: true,
      configurable: true,
    });
  }
  return Lean;
})();

/** Runs `fn` with `Date.now` reading `clock`; nested/re-entrant calls restore correctly. */
export function withClockedDateNow<T>(clock: Clock, fn: () => T): T {
  const previous = Date.now;
  const now = clock.now(); // read before the override: a clock may itself read Date.now (SystemClock)
  Date.now = () => now;
  try {
    return fn();
  } finally {
    Date.now = previous;
  }
}

type AnyFn = (...args: unknown[]) => unknown;
const WRAPPED = Symbol('clocked');

function wrap(clock: Clock, target: Record<string | symbol, unknown>, name: string): void {
  const original = target[name];
  if (typeof original !== 'function' || (original as { [WRAPPED]?: boolean })[WRAPPED]) return;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return withClockedDateNow(clock, () => (original as AnyFn).apply(this, args));
  };
  (wrapped as unknown as { [WRAPPED]: boolean })[WRAPPED] = true;
  target[name] = wrapped;
}

function clockInstance(clock: Clock, instance: Redis): Redis {
  installLuaScripting(instance);
  const target = instance as unknown as Record<string | symbol, unknown>;
  for (const name of Object.keys(target)) wrap(clock, target, name);
  wrap(clock, target, 'exec');
  for (const name of ['pipeline', 'multi']) {
    const original = target[name] as AnyFn;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const batch = original.apply(this, args) as Record<string, unknown>;
      wrap(clock, batch, 'exec');
      return batch;
    };
  }
  const duplicate = target.duplicate as AnyFn;
  target.duplicate = function (this: unknown, ...args: unknown[]) {
    return clockInstance(clock, duplicate.apply(this, args) as Redis);
  };
  const defineCommand = target.defineCommand as AnyFn;
  target.defineCommand = function (this: unknown, name: unknown, ...rest: unknown[]) {
    const result = defineCommand.call(this, name, ...rest);
    wrap(clock, target, String(name));
    wrap(clock, target, `${String(name)}Buffer`);
    return result;
  };
  return instance;
}

/**
 * Creates a fresh in-memory Redis world on `clock`: `{ client, subscriber }` share data, TTLs and pub/sub.
 * `SET k v PX 1000` at t expires exactly when the clock reaches t + 1000.
 */
export function createClockedRedisMock(clock: Clock, options: ClockedRedisMockOptions = {}): ClockedRedisMock {
  if (!clock || typeof clock.now !== 'function') {
    throw new Error('createClockedRedisMock: clock must implement Clock (now(), setTimeout(), …)');
  }
  const host = options.world ?? `clocked-redis-mock-${process.pid}-${++worldCounter}`;
  const connections: Redis[] = [];
  const make = (): Redis => {
    const instance = new LeanRedisMock({
      host,
      port: 6379,
      keyPrefix: options.keyPrefix ?? '',
      lazyConnect: false,
    });
    connections.push(instance);
    return clockInstance(clock, instance);
  };
  const client = make();
  const subscriber = make();
  return {
    client,
    subscriber,
    duplicate: make,
    close: async () => {
      for (const c of connections) c.disconnect();
    },
  };
}
