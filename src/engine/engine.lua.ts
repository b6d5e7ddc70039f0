import { LuaScript } from '../redis/lua-script.js';

/*
 * Scripts of the entity engine. Replies are strings (no Lua tables: they differ on ioredis-mock's fengari).
 * Entity ids and worker names contain no whitespace, so '\n' and ' ' separate fields safely.
 *
 * Redis Cluster note: `reapLeases` builds ready/orphan/heartbeat keys from the prefix inside the script, so on a
 * Cluster the whole engine keyspace must share one hash slot (a `{tag}` in keyPrefix). A sharded layout would
 * key the ready set and leases by shard (`ready:{shard}`) and move the per-entity writes to separate calls.
 */

/**
 * KEYS: ready zset of the entity type. ARGV: dueAt (ms), entityId, signal channel, message.
 * Marks the entity ready at `dueAt` unless it is already ready at that time or earlier, and then publishes the
 * signal (one message per entity becoming ready, not per job). Returns 1 if marked, 0 if it already was.
 */
export const markReadyScript = new LuaScript(
  'aq-engine-mark-ready',
  `local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
if s and tonumber(s) <= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`,
  1,
);

/**
 * KEYS: ready zset. ARGV: now (ms), limit. Takes (removes) up to `limit` entities ready at `now`, oldest first.
 * Returns "<next due score or empty>\\n<id>\\n<id>...": the earliest remaining score lets the node sleep until then.
 */
export const takeReadyScript = new LuaScript(
  'aq-engine-take-ready',
  `local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #ids do redis.call('ZREM', KEYS[1], ids[i]) end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local head = ''
if nxt[2] then head = nxt[2] end
if #ids == 0 then return head end
return head .. '\\n' .. table.concat(ids, '\\n')`,
  1,
);

/**
 * KEYS: leases zset (member "<entityType>:<entityId> <workerName>", score = expiry ms). ARGV: now, limit, keyPrefix,
 * signal channel, orphan-flag TTL ms. For each expired lease: if the worker's heartbeat still lives, the lease
 * is moved to the heartbeat's expiry; otherwise its owner is gone: the lease is dropped, the entity marked ready
 * now, an orphan flag set on its queue (the next owner recovers the dead owner's active job at once instead of
 * waiting for its BullMQ lock to expire) and the signal published. Returns the taken-over entities, '\\n'-joined.
 */
export const reapLeasesScript = new LuaScript(
  'aq-engine-reap-leases',
  `local now = tonumber(ARGV[1])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #members do
  local m = members[i]
  local sp = string.find(m, ' ', 1, true)
  local ent = string.sub(m, 1, sp - 1)
  local worker = string.sub(m, sp + 1)
  local pttl = redis.call('PTTL', ARGV[3] .. ':workers:' .. worker)
  if pttl > 0 then
    redis.call('ZADD', KEYS[1], now + pttl, m)
  elseif pttl == -1 then
    redis.call('ZADD', KEYS[1], now + 1000, m)
  else
    redis.call('ZREM', KEYS[1], m)
    local c = string.find(ent, ':', 1, true)
    local etype = string.sub(ent, 1, c - 1)
    local eid = string.sub(ent, c + 1)
    redis.call('ZADD', ARGV[3] .. ':ready:' .. etype, now, eid)
    redis.call('SET', ARGV[3] .. ':orphan:' .. etype .. '-' .. eid .. '-queue', worker, 'PX', tonumber(ARGV[5]))
    redis.call('PUBLISH', ARGV[4], ent)
    out[#out + 1] = ent
  end
end
return table.concat(out, '\\n')`,
  1,
);

/** KEYS: orphan flag. Returns its value (the dead worker's name) and deletes it, or nil. */
export const takeOrphanFlagScript = new LuaScript(
  'aq-engine-take-orphan',
  `local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`,
  1,
);
