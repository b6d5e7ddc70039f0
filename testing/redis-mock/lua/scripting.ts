import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisMock } from '../ioredis-mock.js';
import { sharedLuaScriptEngine, statusReply, type LuaScriptEngine, type ScriptArg } from './engine.js';

/**
 * Replaces EVAL, EVALSHA (+ their Buffer variants, pipeline/multi forms), defineCommand and TIME of one ioredis-mock
 * instance by the {@link LuaScriptEngine}: one persistent fengari state, each script compiled once, instead of
 * ioredis-mock's new Lua VM + compilation per call (2–10 ms per call → 0.03–0.4 ms; bench/lua/lua-mock-bench.ts). `redis.call` runs the instance's own
 * synchronous command emulators (the same data world, key prefix and lazy expiry), so a script is atomic and runs
 * inside the caller's clock scope. Loaded scripts are shared by all connections of a data world, as on a server.
 */

type Fn = (...args: unknown[]) => unknown;
type Batch = Record<string, unknown> & { _createCommand(name: string, emulator: Fn): Fn };
interface MockInternals {
  keyData: string;
  subscriberMode: boolean;
  connected: boolean;
  options: { enableOfflineQueue?: boolean };
  customCommands: Record<string, Fn>;
  [name: string]: unknown;
}

/** Commands a script may not call (as in Redis: "This Redis command is not allowed from script"). */
const NOT_ALLOWED = new Set([
  'eval', 'evalsha', 'evaluate', 'definecommand', 'multi', 'exec', 'discard', 'watch', 'unwatch', 'subscribe',
  'psubscribe', 'unsubscribe', 'punsubscribe', 'quit', 'connect', 'disconnect',
]);

/**
 * Commands whose string reply is a status reply in Redis (the emulators return plain strings): SET only without
 * its GET option, PING only without a message.
 */
const STATUS_REPLY = new Set(['set', 'setex', 'psetex', 'mset', 'hmset', 'lset', 'ltrim', 'rename', 'type', 'ping', 'flushdb', 'flushall']);
const isStatusReply = (command: string, args: readonly string[], reply: unknown): boolean =>
  typeof reply === 'string' &&
  STATUS_REPLY.has(command) &&
  !(command === 'set' && args.some((a) => a.toUpperCase() === 'GET')) &&
  !(command === 'ping' && args.length > 0);

/** Scripts loaded per data world (ioredis-mock's `host:port/db`), like a server's script cache. */
const scriptsByWorld = new Map<string, Map<string, string>>();
const installed = new WeakSet<object>();

const sha1 = (source: string): string => createHash('sha1').update(source).digest('hex');

/**
 * ioredis-mock's command emulators, lower-case name → synchronous function to call with the instance as `this`
 * (the functions its own Lua bridge calls). They are not exported; its Pipeline copies each one through
 * `_createCommand(name, emulator)`, so running `copyCommands` on a probe whose `_createCommand` records them reads
 * the table without executing anything.
 */
let emulatorTable: Map<string, Fn> | undefined;
function emulators(): Map<string, Fn> {
  if (emulatorTable) return emulatorTable;
  const { Pipeline } = RedisMock as unknown as { Pipeline: { prototype: { copyCommands(this: unknown): void } } };
  const table = new Map<string, Fn>();
  const probe = Object.assign(Object.create(Pipeline.prototype) as object, {
    redis: { customCommands: {} },
    _createCommand: (name: string, emulator: Fn) => {
      if (!name.endsWith('Buffer')) table.set(name.toLowerCase(), emulator);
    },
  });
  Pipeline.prototype.copyCommands.call(probe);
  if (!table.has('get') || !table.has('hgetall')) {
    throw new Error('installLuaScripting: could not read the command emulators of this ioredis-mock version');
  }
  emulatorTable = table;
  return table;
}

/**
 * TIME as Redis replies it, `[seconds, microseconds]` as strings, read from `Date.now()` (which the clocked mock
 * puts on its test clock while a command runs). ioredis-mock's own TIME mixes wall-clock seconds with a fragment
 * of process.hrtime, and so ignores the test clock.
 */
const redisTime: Fn = () => {
  const now = Date.now();
  return [String(Math.floor(now / 1000)), String((now % 1000) * 1000)];
};

/**
 * A sorted-set removal that deletes the key once the set is empty, as Redis does (ioredis-mock keeps an empty
 * sorted set, so key counts and EXISTS would differ from Redis).
 */
const deletingEmptySortedSet = (command: string): Fn =>
  function (this: { data: { get(key: string): unknown; delete(key: string): void } }, ...args: unknown[]) {
    const reply = emulators().get(command)!.apply(this, args);
    const set = this.data.get(String(args[0])) as { size?: number } | undefined;
    if (set instanceof Map && set.size === 0) this.data.delete(String(args[0]));
    return reply;
  };

/** Emulators that replace ioredis-mock's, in scripts and as commands. */
const OWN_EMULATORS = new Map<string, Fn>([
  ['time', redisTime],
  ...['zrem', 'zremrangebyrank', 'zremrangebyscore'].map((c) => [c, deletingEmptySortedSet(c)] as [string, Fn]),
]);

/** ioredis(-mock) argument handling: one level of arrays flattened, null → '', numbers → strings, bytes kept. */
function commandArguments(args: readonly unknown[]): ScriptArg[] {
  return args.flat().map((a) => (a === null || a === undefined ? '' : a instanceof Uint8Array ? a : String(a)));
}

function toBuffers(value: unknown): unknown {
  if (typeof value === 'string') return Buffer.from(value);
  return Array.isArray(value) ? value.map(toBuffers) : value;
}

function keyCount(raw: ScriptArg | undefined, available: number): number {
  const text = raw === undefined ? '' : String(raw instanceof Uint8Array ? Buffer.from(raw) : raw);
  if (!/^-?\d+$/.test(text)) throw new Error(`ERR value is not an integer or out of range (numkeys "${text}")`);
  const n = Number(text);
  if (n < 0) throw new Error("ERR Number of keys can't be negative");
  if (n > available) throw new Error("ERR Number of keys can't be greater than number of args");
  return n;
}

/** Installs the fast scripting on `redis` (an ioredis-mock instance); idempotent. Returns `redis`. */
export function installLuaScripting<R extends Redis>(redis: R, engine: LuaScriptEngine = sharedLuaScriptEngine()): R {
  const instance = redis as unknown as MockInternals;
  if (installed.has(instance)) return redis;
  installed.add(instance);

  const host = {
    command(name: string, args: string[]): unknown {
      const lower = name.toLowerCase();
      if (NOT_ALLOWED.has(lower)) throw new Error('ERR This Redis command is not allowed from script');
      const emulator = OWN_EMULATORS.get(lower) ?? emulators().get(lower);
      if (!emulator) throw new Error('ERR Unknown Redis command called from script');
      const reply = emulator.apply(instance, args);
      if (reply && typeof (reply as { then?: unknown }).then === 'function') {
        throw new Error(`ERR ${name} cannot be called from a script on the in-memory Redis (it is asynchronous there)`);
      }
      return isStatusReply(lower, args, reply) ? statusReply(reply as string) : reply;
    },
  };
  const worldScripts = (): Map<string, string> => {
    let scripts = scriptsByWorld.get(instance.keyData);
    if (!scripts) scriptsByWorld.set(instance.keyData, (scripts = new Map()));
    return scripts;
  };
  const run = (source: string, sha: string, numKeys: ScriptArg | undefined, rest: ScriptArg[]): unknown => {
    const n = keyCount(numKeys, rest.length);
    return engine.run(source, sha, rest.slice(0, n), rest.slice(n), host);
  };
  const evalSync = (source: unknown, numKeys?: ScriptArg, ...rest: ScriptArg[]): unknown => {
    const text = String(source);
    const sha = sha1(text);
    worldScripts().set(sha, text);
    return run(text, sha, numKeys, rest);
  };
  const evalshaSync = (sha: unknown, numKeys?: ScriptArg, ...rest: ScriptArg[]): unknown => {
    const source = worldScripts().get(String(sha).toLowerCase());
    if (source === undefined) throw new Error('NOSCRIPT No matching script. Please use EVAL.');
    return run(source, String(sha).toLowerCase(), numKeys, rest);
  };

  /** ioredis-mock's command wrapper: optional node callback, connection checks, argument handling, a Promise. */
  const asCommand = (sync: Fn, transform: (reply: unknown) => unknown = (r) => r): Fn =>
    function (...raw: unknown[]) {
      const callback = typeof raw[raw.length - 1] === 'function' ? (raw.pop() as (err: unknown, reply?: unknown) => void) : undefined;
      let promise: Promise<unknown>;
      try {
        if (instance.subscriberMode) throw new Error('Connection in subscriber mode, only subscriber commands may be used');
        if (!instance.connected && !instance.options.enableOfflineQueue) {
          throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
        }
        promise = Promise.resolve(transform(sync(...commandArguments(raw))));
      } catch (err) {
        promise = Promise.reject(err);
      }
      if (callback) promise.then((reply) => callback(null, reply), (err: unknown) => callback(err));
      return promise;
    };

  for (const [name, emulator] of OWN_EMULATORS) {
    instance[name] = asCommand(emulator);
    instance[`${name}Buffer`] = asCommand(emulator, toBuffers);
  }
  instance.eval = asCommand(evalSync as Fn);
  instance.evalsha = asCommand(evalshaSync as Fn);
  instance.evalBuffer = asCommand(evalSync as Fn, toBuffers);
  instance.evalshaBuffer = asCommand(evalshaSync as Fn, toBuffers);

  instance.defineCommand = function (name: unknown, definition: unknown) {
    const { numberOfKeys, lua } = (definition ?? {}) as { numberOfKeys?: number; lua?: string };
    if (typeof name !== 'string' || !name) throw new Error(`defineCommand: name must be a non-empty string, got ${String(name)}`);
    if (typeof lua !== 'string') throw new Error(`defineCommand ${name}: lua must be a string of Lua source, got ${typeof lua}`);
    const sha = sha1(lua);
    worldScripts().set(sha, lua);
    // As in ioredis: a fixed numberOfKeys, or (when absent) the key count is the command's first argument.
    const command: Fn = (...args: unknown[]) =>
      typeof numberOfKeys === 'number'
        ? run(lua, sha, String(numberOfKeys), args as ScriptArg[])
        : run(lua, sha, args[0] as ScriptArg, args.slice(1) as ScriptArg[]);
    instance.customCommands[name] = command; // the synchronous form, for pipelines
    instance[name] = asCommand(command);
    instance[`${name}Buffer`] = asCommand(command, toBuffers);
  };

  for (const kind of ['pipeline', 'multi'] as const) {
    const create = instance[kind] as Fn;
    instance[kind] = function (this: unknown, commands?: unknown) {
      const batch = create.call(this, Array.isArray(commands) ? [] : commands) as Batch;
      batch.eval = batch.evaluate = batch._createCommand('eval', evalSync as Fn);
      batch.evalsha = batch._createCommand('evalsha', evalshaSync as Fn);
      batch.evalBuffer = batch._createCommand('evalBuffer', (...args) => toBuffers((evalSync as Fn)(...args)));
      batch.evalshaBuffer = batch._createCommand('evalshaBuffer', (...args) => toBuffers((evalshaSync as Fn)(...args)));
      if (Array.isArray(commands)) {
        for (const [name, ...args] of commands as [string, ...unknown[]][]) (batch[name] as Fn)(...args);
      }
      return batch;
    };
  }
  return redis;
}
