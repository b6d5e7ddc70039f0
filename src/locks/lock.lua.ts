import { LuaScript } from '../redis/lua-script.js';

/**
 * Lua of ResourceLockService. A lock is a hash `{ owner, ownerType, token }` with a PX expiry at
 * `${keyPrefix}:lock:${type}:${id}`; `…:fence` is a counter that never expires, INCR'd once per new
 * acquisition, so fencing tokens of a resource strictly increase for as long as Redis keeps its data.
 * Kept as TypeScript strings so the compiled package needs no asset copying.
 */

/** Reads the lock hash at `key` into a table; returns nil when the lock is free. */
const READ_LOCK = `
local function read_lock(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local lock = {}
  for i = 1, #flat, 2 do lock[flat[i]] = flat[i + 1] end
  return lock
end
`;

/** Takes a free lock: INCR the fence, write the hash, set the expiry. Returns the new token. */
const TAKE_LOCK = `
local function take_lock(lock_key, fence_key, owner, owner_type, ttl_ms)
  local token = redis.call('INCR', fence_key)
  redis.call('HSET', lock_key, 'owner', owner, 'ownerType', owner_type, 'token', token)
  redis.call('PEXPIRE', lock_key, ttl_ms)
  return token
end
`;

/**
 * KEYS: lock, fence. ARGV: ownerId, ownerType, ttlMs.
 * Returns {acquired 0|1, token, ownerId, ownerType}. Re-acquisition by the same ownerId resets the expiry to
 * ttlMs and keeps the token (and the ownerType recorded first).
 */
export const acquireLockScript = new LuaScript('aq-lock-acquire', `${READ_LOCK}${TAKE_LOCK}
local lock = read_lock(KEYS[1])
if lock == nil then
  local token = take_lock(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
  return {1, token, ARGV[1], ARGV[2]}
end
local token = tonumber(lock['token'])
if lock['owner'] == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, token, lock['owner'], lock['ownerType']}
end
return {0, token, lock['owner'], lock['ownerType']}
`, 2);

/** KEYS: lock. ARGV: ownerId ('' = any owner). Returns 1 when a lock was deleted. */
export const releaseLockScript = new LuaScript('aq-lock-release', `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`, 1);

/** KEYS: lock. ARGV: ownerId, ttlMs. Returns 1 when the owner's lock expiry was reset to ttlMs. */
export const extendLockScript = new LuaScript('aq-lock-extend', `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`, 1);

/**
 * KEYS: lock1, fence1, lock2, fence2, … ARGV: ownerId, ownerType, ttlMs.
 * Locks the first resource whose lock is free (one held by the caller itself is NOT free).
 * Returns {index (1-based), token}, or {0, 0} when every resource is held.
 */
const ACQUIRE_AVAILABLE = `${TAKE_LOCK}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local token = take_lock(KEYS[i], KEYS[i + 1], ARGV[1], ARGV[2], ARGV[3])
    return {math.floor((i + 1) / 2), token}
  end
end
return {0, 0}
`;
const acquireAvailableScripts = new Map<number, LuaScript>();
/** The pool script for `resourceCount` resources (one LuaScript per key count; all share one SHA). */
export function acquireAvailableScript(resourceCount: number): LuaScript {
  let script = acquireAvailableScripts.get(resourceCount);
  if (!script) {
    script = new LuaScript('aq-lock-acquire-available', ACQUIRE_AVAILABLE, resourceCount * 2);
    acquireAvailableScripts.set(resourceCount, script);
  }
  return script;
}

/**
 * KEYS: fence, target. ARGV: token, op ('set' | 'rpush' | 'incrby'), value.
 * Applies the write only if token is the latest one issued for the resource. Returns {0, latestToken} when it
 * rejects the write, {1, latestToken, seconds, microseconds} when it applied it: the server's TIME, combined in
 * TypeScript (ms-epoch arithmetic in Lua would overflow the 32-bit integers of the in-memory Lua engine).
 */
export const applyIfCurrentScript = new LuaScript('aq-lock-apply-if-current', `
local latest = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) ~= latest then return {0, latest} end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[2], ARGV[3])
elseif ARGV[2] == 'rpush' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
else
  redis.call('INCRBY', KEYS[2], ARGV[3])
end
local now = redis.call('TIME')
return {1, latest, now[1], now[2]}
`, 2);
