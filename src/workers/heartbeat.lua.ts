import { LuaScript } from '../redis/lua-script.js';

/** KEYS: heartbeat. ARGV: ownerValue, ttlMs. Extends the TTL only if we still own it. Returns 1 if owned, else 0. */
export const refreshHeartbeatScript = new LuaScript(
  'aq-heartbeat-refresh',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
  1,
);

/** KEYS: heartbeat. ARGV: ownerValue. Deletes the heartbeat only if we own it. Returns 1 if deleted, else 0. */
export const releaseHeartbeatScript = new LuaScript(
  'aq-heartbeat-release',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`,
  1,
);

/**
 * Batched refresh of every heartbeat a node owns, in one call. KEYS: N heartbeats, then M lists to measure.
 * ARGV: N, then per heartbeat its ownerValue and ttlMs. Each heartbeat's TTL is extended only if its value is
 * still that owner. Returns a comma-separated string (no Lua tables: they differ on ioredis-mock's fengari):
 * N flags (1 = still owned and extended, 0 = lost) followed by the M list lengths.
 */
export const refreshHeartbeatsScript = new LuaScript(
  'aq-heartbeat-refresh-batch',
  `local n = tonumber(ARGV[1])
local out = {}
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[2 * i] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1])
    out[i] = '1'
  else
    out[i] = '0'
  end
end
for j = n + 1, #KEYS do
  out[j] = tostring(redis.call('LLEN', KEYS[j]))
end
return table.concat(out, ',')`,
  'any',
);
