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
