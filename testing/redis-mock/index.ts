export * from './clocked-redis-mock.js';
export { installLuaScripting } from './lua/scripting.js';
export { LuaScriptEngine, ScriptError, sharedLuaScriptEngine, type ScriptArg, type ScriptHost } from './lua/engine.js';
