import { requireFromIoredisMock } from '../ioredis-mock.js';

/**
 * The fengari (Lua 5.3 in JS) that ioredis-mock itself uses, resolved THROUGH ioredis-mock so this package needs
 * no dependency of its own on fengari. Typed with only the part of its C-like API the script engine calls.
 */
export type LuaState = { readonly __luaState: unique symbol };
export type LuaString = Uint8Array;
export type JsFunction = (L: LuaState) => number;

export interface FengariLua {
  LUA_OK: number;
  LUA_MULTRET: number;
  LUA_REGISTRYINDEX: number;
  LUA_TNIL: number;
  LUA_TBOOLEAN: number;
  LUA_TNUMBER: number;
  LUA_TSTRING: number;
  LUA_TTABLE: number;
  lua_gettop(L: LuaState): number;
  lua_settop(L: LuaState, idx: number): void;
  lua_pop(L: LuaState, n: number): void;
  lua_type(L: LuaState, idx: number): number;
  lua_isinteger(L: LuaState, idx: number): boolean;
  lua_tointeger(L: LuaState, idx: number): number;
  lua_tonumber(L: LuaState, idx: number): number;
  lua_toboolean(L: LuaState, idx: number): boolean;
  lua_tojsstring(L: LuaState, idx: number): string;
  lua_tolstring(L: LuaState, idx: number): LuaString;
  lua_pushnil(L: LuaState): void;
  lua_pushboolean(L: LuaState, b: boolean): void;
  lua_pushinteger(L: LuaState, n: number): void;
  lua_pushnumber(L: LuaState, n: number): void;
  lua_pushstring(L: LuaState, s: LuaString): void;
  lua_pushjsfunction(L: LuaState, fn: JsFunction): void;
  lua_pushvalue(L: LuaState, idx: number): void;
  lua_createtable(L: LuaState, narr: number, nrec: number): void;
  lua_rawseti(L: LuaState, idx: number, n: number): void;
  lua_rawgeti(L: LuaState, idx: number, n: number): number;
  lua_getfield(L: LuaState, idx: number, k: LuaString): number;
  lua_setfield(L: LuaState, idx: number, k: LuaString): void;
  lua_getglobal(L: LuaState, name: LuaString): number;
  lua_setglobal(L: LuaState, name: LuaString): void;
  lua_setmetatable(L: LuaState, idx: number): void;
  lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
  lua_error(L: LuaState): number;
  lua_close(L: LuaState): void;
}

export interface FengariLauxlib {
  luaL_newstate(): LuaState;
  luaL_loadbuffer(L: LuaState, buff: LuaString, size: number | null, name: LuaString): number;
  luaL_ref(L: LuaState, t: number): number;
  luaL_unref(L: LuaState, t: number, ref: number): void;
  luaL_where(L: LuaState, level: number): void;
}

export interface Fengari {
  lua: FengariLua;
  lauxlib: FengariLauxlib;
  lualib: { luaL_openlibs(L: LuaState): void };
  to_luastring(s: string): LuaString;
}

export const fengari = requireFromIoredisMock('fengari') as Fengari;
