import { LuaScript } from '../redis/lua-script.js';

/** KEYS: jobSet, countHash. ARGV: jobId, entityId. Adds the job once; returns the entity's pending count. */
export const indexJobScript = new LuaScript(
  'aq-index-job',
  `if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
end
return tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')`,
  2,
);

/** KEYS: jobSet, countHash. ARGV: jobId, entityId. Removes the job once; returns 1 if it was indexed, else 0. */
export const unindexJobScript = new LuaScript(
  'aq-unindex-job',
  `if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  local n = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
  if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  return 1
end
return 0`,
  2,
);
