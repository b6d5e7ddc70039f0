import { LuaScript } from '../redis/lua-script.js';

/**
 * KEYS: active list, stalled set, stalled-check key. ARGV: job key prefix (`<prefix>:<queue>:`).
 * Drops the lock of every active job and marks it stalled, and clears BullMQ's stalled-check throttle, so the
 * next `moveStalledJobsToWait` of the queue moves them back to wait (BullMQ's own recovery, ordering and events).
 * Only for a queue whose owner is known dead (its entity lease was reaped and the caller now owns the entity).
 */
export const recoverOrphansScript = new LuaScript(
  'aq-recover-orphans',
  `local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for i = 1, #ids do
  redis.call('DEL', ARGV[1] .. ids[i] .. ':lock')
  redis.call('SADD', KEYS[2], ids[i])
end
redis.call('DEL', KEYS[3])
return #ids`,
  3,
);
