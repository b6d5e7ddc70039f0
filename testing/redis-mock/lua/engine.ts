import { createHash } from 'node:crypto';
import { fengari, type LuaState, type LuaString } from './fengari.js';

const { lua, lauxlib, lualib, to_luastring } = fengari;

/** A script argument (KEYS/ARGV element) as ioredis passes it on: a string, or bytes. */
export type ScriptArg = string | Uint8Array;

/** Where `redis.call`/`redis.pcall` go: runs one command synchronously and returns its reply, or throws. */
export interface ScriptHost {
  command(name: string, args: string[]): unknown;
}

/** Brand of a status reply; a registry symbol, as the engine may come from another copy of this module. */
const STATUS = Symbol.for('@nestjs/atomic-queues/testing:status-reply');
export interface StatusReply {
  readonly [STATUS]: string;
}
/** A status reply (`+OK`): a script sees it as the table `{ok = text}`. */
export const statusReply = (text: string): StatusReply => ({ [STATUS]: text });

/** An error reply of a script (the message as a Redis client would see it). */
export class ScriptError extends Error {}
ScriptError.prototype.name = 'ScriptError';

const CHUNK_NAME = to_luastring('@user_script');
const s = (text: string): LuaString => to_luastring(text);
const K_ERR = s('err');
const K_OK = s('ok');
const K_KEYS = s('KEYS');
const K_ARGV = s('ARGV');
const K_LINE = s('line');
/** Compiled scripts kept per engine before the cache is emptied (dynamic EVAL sources must not leak). */
const MAX_CACHED_SCRIPTS = 1000;

/**
 * Lua 5.3 set-up run once per engine, before any script. Like Redis 7: scripts get KEYS/ARGV and `redis.*`, may
 * not create globals ("Attempt to modify a readonly table") nor read undefined ones ("Script attempted to access
 * nonexistent global variable"); Lua 5.1's `unpack` and number printing (`tostring`) are kept; `pcall` turns a
 * caught error reply into its message. Each call runs in a fresh environment table whose
 * metatable is ENV_MT, so nothing a call does to its globals is seen by the next call.
 */
const PRELUDE = `
local call, pcall_, sha1hex, format_number = ...
unpack = table.unpack
-- Lua 5.1 prints every number with %.14g (3.0 is "3"); Lua 5.3 would print floats with a ".0".
local tostring53 = tostring
tostring = function(v)
  if math.type(v) == 'float' then return format_number(v) end
  return tostring53(v)
end
-- Redis 7's pcall hands a caught error reply table ({err = msg}) over as its message string.
local pcall53 = pcall
pcall = function(...)
  local result = table.pack(pcall53(...))
  if not result[1] and type(result[2]) == 'table' and type(result[2].err) == 'string' then result[2] = result[2].err end
  return table.unpack(result, 1, result.n)
end
redis = {
  call = call,
  pcall = pcall_,
  sha1hex = sha1hex,
  error_reply = function(msg) return { err = msg } end,
  status_reply = function(msg) return { ok = msg } end,
  log = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
}
local G = _G
local ENV_MT = {
  __index = G,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
}
setmetatable(G, {
  __index = function(_, name) error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2) end,
  __newindex = function() error('Attempt to modify a readonly table', 2) end,
})
return ENV_MT
`;

/**
 * Runs Redis Lua scripts on ONE long-lived fengari state: each distinct source is compiled once (as a chunk whose
 * first statement binds `_ENV` to its argument, so every call gets its own globals), then every call only builds
 * KEYS/ARGV and `pcall`s the compiled function. Conversions follow Redis 7
 * (https://redis.io/docs/latest/develop/interact/programmability/lua-api/#data-type-conversion):
 * - replies → Lua: integer → integer, string → string, status → `{ok = text}`, nil → false, array → table (nil → false),
 *   error → raised (`redis.call`) or `{err = msg}` (`redis.pcall`); a hash reply (object) → flat field/value table.
 * - Lua → reply: number → integer (truncated), string → string, true → 1, false/nil → null,
 *   table → `err` field: error, `ok` field: status string, else array up to the first nil.
 * - command arguments must be strings or numbers (floats formatted like Redis' %.17g).
 * Known difference: fengari is Lua 5.3 with 32-bit integers, Redis' Lua 5.1 has only doubles, so integer arithmetic
 * past ±2^31 (a ms epoch, say) wraps here: keep such arithmetic out of scripts, or force floats (`x * 1000.0`).
 */
export class LuaScriptEngine {
  private readonly L: LuaState;
  private readonly envMetatableRef: number;
  private readonly compiled = new Map<string, number>();
  /** Host of the call in progress (a stack, in case a command re-enters the engine). */
  private hosts: ScriptHost[] = [];

  constructor() {
    const L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(L);
    this.L = L;
    if (lauxlib.luaL_loadbuffer(L, s(PRELUDE), null, s('=prelude')) !== lua.LUA_OK) {
      throw new Error(`LuaScriptEngine prelude: ${lua.lua_tojsstring(L, -1)}`);
    }
    lua.lua_pushjsfunction(L, (S) => this.redisCall(S, true));
    lua.lua_pushjsfunction(L, (S) => this.redisCall(S, false));
    lua.lua_pushjsfunction(L, (S) => {
      lua.lua_pushstring(S, s(createHash('sha1').update(lua.lua_tolstring(S, 1) ?? new Uint8Array()).digest('hex')));
      return 1;
    });
    lua.lua_pushjsfunction(L, (S) => {
      lua.lua_pushstring(S, s(formatG(lua.lua_tonumber(S, 1), 14)));
      return 1;
    });
    if (lua.lua_pcall(L, 4, 1, 0) !== lua.LUA_OK) throw new Error(`LuaScriptEngine prelude: ${lua.lua_tojsstring(L, -1)}`);
    this.envMetatableRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }

  /**
   * Runs `source` (whose SHA1 is `sha`, used in error messages) with KEYS/ARGV against `host`; returns the
   * converted reply or throws a {@link ScriptError} carrying the message Redis 7 would reply with.
   */
  run(source: string, sha: string, keys: readonly ScriptArg[], argv: readonly ScriptArg[], host: ScriptHost): unknown {
    const L = this.L;
    const base = lua.lua_gettop(L);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.compile(source));
    lua.lua_createtable(L, 0, 2);
    pushStringArray(L, keys);
    lua.lua_setfield(L, -2, K_KEYS);
    pushStringArray(L, argv);
    lua.lua_setfield(L, -2, K_ARGV);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.envMetatableRef);
    lua.lua_setmetatable(L, -2);
    this.hosts.push(host);
    try {
      if (lua.lua_pcall(L, 1, 1, 0) !== lua.LUA_OK) throw new ScriptError(scriptErrorMessage(L, -1, sha));
      const reply = toReply(L, -1);
      if (reply instanceof Error) throw reply;
      return reply;
    } finally {
      this.hosts.pop();
      lua.lua_settop(L, base);
    }
  }

  /** Number of distinct script sources compiled and cached. */
  get cachedScripts(): number {
    return this.compiled.size;
  }

  /** Registry reference of the compiled function of `source`. */
  private compile(source: string): number {
    const hit = this.compiled.get(source);
    if (hit !== undefined) return hit;
    if (this.compiled.size >= MAX_CACHED_SCRIPTS) this.clearCache();
    const L = this.L;
    // `local _ENV = ...` on the first line keeps line numbers; a `#!` first line (Redis 7 shebang) is replaced.
    const body = source.startsWith('#!') ? source.slice(lineEnd(source)) : source;
    if (lauxlib.luaL_loadbuffer(L, s(`local _ENV = ...; ${body}`), null, CHUNK_NAME) !== lua.LUA_OK) {
      const message = lua.lua_tojsstring(L, -1);
      lua.lua_pop(L, 1);
      // Lua 5.1 quotes the end-of-input token ('<eof>'); 5.3 does not.
      throw new ScriptError(`ERR Error compiling script (new function): ${message.replace(/ near <eof>$/, " near '<eof>'")}`);
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.compiled.set(source, ref);
    return ref;
  }

  private clearCache(): void {
    for (const ref of this.compiled.values()) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, ref);
    this.compiled.clear();
  }

  /** `redis.call` (raise = true) / `redis.pcall` (raise = false): arguments on the stack of L. */
  private redisCall(L: LuaState, raise: boolean): number {
    let reply: unknown;
    try {
      const args = commandArgs(L);
      const host = this.hosts[this.hosts.length - 1];
      if (!host) throw new Error('ERR redis.call outside of a script');
      reply = host.command(args[0]!, args.slice(1));
    } catch (err) {
      reply = err instanceof Error ? err : new Error(String(err));
    }
    if (reply instanceof Error) {
      pushErrorTable(L, reply.message);
      if (!raise) return 1;
      lauxlib.luaL_where(L, 1);
      const line = /:(\d+): $/.exec(lua.lua_tojsstring(L, -1))?.[1];
      lua.lua_pop(L, 1);
      if (line) {
        lua.lua_pushinteger(L, Number(line));
        lua.lua_setfield(L, -2, K_LINE);
      }
      return lua.lua_error(L);
    }
    pushReply(L, reply);
    return 1;
  }
}

const ENGINES = Symbol.for('@nestjs/atomic-queues/testing:lua-engines');

/**
 * The process-wide engine (one fengari state, created on first use). Kept on globalThis per fengari module: a
 * test runner that re-evaluates this file for every test file (vitest) still reuses the engine, its warm compiled
 * scripts and JIT, as long as fengari itself (a node_modules dependency) is loaded once.
 */
export function sharedLuaScriptEngine(): LuaScriptEngine {
  const holder = globalThis as { [ENGINES]?: WeakMap<object, LuaScriptEngine> };
  const engines = (holder[ENGINES] ??= new WeakMap());
  let engine = engines.get(fengari);
  if (!engine) engines.set(fengari, (engine = new LuaScriptEngine()));
  return engine;
}
/** C's `%.<precision>g` (what Redis' Lua 5.1 uses to print numbers: 14 digits in tostring, 17 in redis.call). */
export function formatG(n: number, precision: number): string {
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : n < 0 ? '-inf' : (n !== n ? 'nan' : String(n));
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [, exponentText] = n.toExponential(precision - 1).split('e') as [string, string];
  const exponent = Number(exponentText);
  const trim = (digits: string) => (digits.includes('.') ? digits.replace(/\.?0+$/, '') : digits);
  if (exponent < -4 || exponent >= precision) {
    const [mantissa] = n.toExponential(precision - 1).split('e') as [string];
    return `${trim(mantissa)}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return trim(n.toFixed(precision - 1 - exponent));
}

/** Formats a number argument of redis.call like Redis 7.0 (integers as such, floats as C's %.17g). */
export function formatLuaNumber(n: number, isInteger: boolean): string {
  return isInteger ? String(n) : formatG(n, 17);
}

function commandArgs(L: LuaState): string[] {
  const n = lua.lua_gettop(L);
  if (n === 0) throw new Error('ERR Please specify at least one argument for this redis lib call');
  const args: string[] = [];
  for (let i = 1; i <= n; i++) {
    const type = lua.lua_type(L, i);
    if (type === lua.LUA_TSTRING) args.push(lua.lua_tojsstring(L, i));
    else if (type === lua.LUA_TNUMBER) {
      const isInteger = lua.lua_isinteger(L, i);
      args.push(formatLuaNumber(isInteger ? lua.lua_tointeger(L, i) : lua.lua_tonumber(L, i), isInteger));
    } else throw new Error('ERR Lua redis lib command arguments must be strings or integers');
  }
  return args;
}

function pushLuaString(L: LuaState, value: ScriptArg): void {
  lua.lua_pushstring(L, typeof value === 'string' ? to_luastring(value) : value);
}

function pushStringArray(L: LuaState, values: readonly ScriptArg[]): void {
  lua.lua_createtable(L, values.length, 0);
  for (let i = 0; i < values.length; i++) {
    pushLuaString(L, values[i]!);
    lua.lua_rawseti(L, -2, i + 1);
  }
}

function pushErrorTable(L: LuaState, message: string): void {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushstring(L, to_luastring(message));
  lua.lua_setfield(L, -2, K_ERR);
}

/** Pushes a command reply converted to Lua (see the class doc). */
function pushReply(L: LuaState, value: unknown): void {
  if (value === null || value === undefined || value === false) lua.lua_pushboolean(L, false);
  else if (value === true) lua.lua_pushinteger(L, 1);
  else if (typeof value === 'string' || value instanceof Uint8Array) pushLuaString(L, value);
  else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) lua.lua_pushinteger(L, value);
    else lua.lua_pushnumber(L, value);
  } else if (value instanceof Error) pushErrorTable(L, value.message);
  else if (typeof value === 'object' && STATUS in value) {
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushstring(L, to_luastring((value as StatusReply)[STATUS]));
    lua.lua_setfield(L, -2, K_OK);
  }
  else if (Array.isArray(value)) pushArray(L, value);
  else if (typeof value === 'object') pushArray(L, Object.entries(value as object).flat());
  else lua.lua_pushstring(L, to_luastring(String(value)));
}

function pushArray(L: LuaState, values: readonly unknown[]): void {
  lua.lua_createtable(L, values.length, 0);
  for (let i = 0; i < values.length; i++) {
    pushReply(L, values[i]);
    lua.lua_rawseti(L, -2, i + 1);
  }
}

/** Index of the end of the first line of `text` (its length when it has one line). */
function lineEnd(text: string): number {
  const nl = text.indexOf('\n');
  return nl < 0 ? text.length : nl;
}

/** Tables nested deeper than this in a script's reply are an error (a self-referencing table would loop). */
const MAX_REPLY_DEPTH = 200;

/** Converts the Lua value at `at` to a reply: an Error value stands for an error reply. */
function toReply(L: LuaState, at: number, depth = 0): unknown {
  const idx = at < 0 ? lua.lua_gettop(L) + at + 1 : at;
  const type = lua.lua_type(L, idx);
  if (type === lua.LUA_TNUMBER) return lua.lua_isinteger(L, idx) ? lua.lua_tointeger(L, idx) : Math.trunc(lua.lua_tonumber(L, idx));
  if (type === lua.LUA_TSTRING) return lua.lua_tojsstring(L, idx);
  if (type === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, idx) ? 1 : null;
  if (type !== lua.LUA_TTABLE) return null;
  if (depth > MAX_REPLY_DEPTH) return new ScriptError('ERR reached lua stack limit');
  const err = tableField(L, idx, K_ERR);
  if (err !== undefined) return new ScriptError(err.replace(/^-/, ''));
  const ok = tableField(L, idx, K_OK);
  if (ok !== undefined) return ok;
  const out: unknown[] = [];
  for (let i = 1; lua.lua_rawgeti(L, idx, i) !== lua.LUA_TNIL; i++) {
    out.push(toReply(L, -1, depth + 1));
    lua.lua_pop(L, 1);
  }
  lua.lua_pop(L, 1);
  return out;
}

/** The string field `key` of the table at `idx`, if it is a string. */
function tableField(L: LuaState, idx: number, key: LuaString): string | undefined {
  const type = lua.lua_getfield(L, idx, key);
  const value = type === lua.LUA_TSTRING ? lua.lua_tojsstring(L, -1) : undefined;
  lua.lua_pop(L, 1);
  return value;
}

/** The message Redis 7 replies with when a script raised `value` (at `idx`) instead of returning. */
function scriptErrorMessage(L: LuaState, idx: number, sha: string): string {
  const where = (line: number | undefined) => ` script: ${sha}, on @user_script:${line ?? '?'}.`;
  if (lua.lua_type(L, idx) === lua.LUA_TTABLE) {
    const err = tableField(L, idx, K_ERR);
    if (err !== undefined) {
      lua.lua_getfield(L, idx, K_LINE);
      const line = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tointeger(L, -1) : undefined;
      lua.lua_pop(L, 1);
      return `${err.replace(/^-/, '')}${where(line)}`;
    }
  }
  const message = lua.lua_type(L, idx) === lua.LUA_TSTRING ? lua.lua_tojsstring(L, idx) : 'unknown error';
  const line = /^user_script:(\d+):/.exec(message)?.[1];
  return `ERR ${message}${where(line === undefined ? undefined : Number(line))}`;
}
