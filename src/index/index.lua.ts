import { LuaScript } from '../redis/lua-script.js';

/** Redis server time in ms (one clock for every node; the in-memory Redis answers TIME from its clock). */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: jobSet (ZSET jobId → indexedAt), countHash, touched (ZSET entityId → last activity), queues, types.
 * ARGV: jobId, entityId, entityType.
 * Adds the job once (its score is the time it was first indexed) and marks the entity active.
 * Returns { pending count, 1 if the entity's queue is indexed else 0 }.
 */
export const indexJobScript = new LuaScript(
  'aq-index-job',
  `${NOW}
local n
if redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1]) == 1 then
  n = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
else
  n = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('SADD', KEYS[5], ARGV[3])
return {n, redis.call('HEXISTS', KEYS[4], ARGV[2])}`,
  5,
);

/**
 * KEYS: jobSet, countHash, touched. ARGV: jobId, entityId. Removes the job once and marks the entity active;
 * returns 1 if it was indexed, else 0 (a late report for a retired entity leaves no trace).
 */
export const unindexJobScript = new LuaScript(
  'aq-unindex-job',
  `if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  ${NOW}
  local n = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
  if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  return 1
end
return 0`,
  3,
);

/**
 * KEYS: queues, queueEntity, touched, types. ARGV: entityId, queueName, `${entityType}:${entityId}`, entityType.
 * Records the entity's queue (both directions) and marks the entity active.
 */
export const indexQueueScript = new LuaScript(
  'aq-index-queue',
  `${NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
return 1`,
  4,
);

/**
 * KEYS: jobSet, countHash. ARGV: entityId, jobId… Removes the given jobs (the sweeper's repair of jobs that
 * finished without being unindexed); the count drops by the number actually removed. Returns that number.
 */
export const unindexJobsScript = new LuaScript(
  'aq-unindex-jobs',
  `local removed = 0
for i = 2, #ARGV do removed = removed + redis.call('ZREM', KEYS[1], ARGV[i]) end
if removed > 0 then
  local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -removed)
  if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
end
return removed`,
  2,
);

/**
 * KEYS: touched, countHash, queues. ARGV: offset, limit, jobsPerEntity, keyPrefix, entityType.
 * One page of the sweep: entities in order of last activity (oldest first) from rank `offset`, each as
 * { entityId, lastActivity, pendingCount, queueName or '', { jobId, indexedAt, … (oldest first, at most jobsPerEntity) } },
 * preceded by the server time read before any of it. Reads only.
 */
export const sweepPageScript = new LuaScript(
  'aq-sweep-page',
  `${NOW}
local offset = tonumber(ARGV[1])
local page = redis.call('ZRANGE', KEYS[1], offset, offset + tonumber(ARGV[2]) - 1, 'WITHSCORES')
local out = {now}
for i = 1, #page, 2 do
  local id = page[i]
  local jobs = {}
  local pending = tonumber(redis.call('HGET', KEYS[2], id) or '0')
  local setKey = ARGV[4] .. ':idx:' .. ARGV[5] .. ':jobs:' .. id
  if pending > 0 or redis.call('EXISTS', setKey) == 1 then
    jobs = redis.call('ZRANGE', setKey, 0, tonumber(ARGV[3]) - 1, 'WITHSCORES')
  end
  out[#out + 1] = {id, page[i + 1], tostring(pending), redis.call('HGET', KEYS[3], id) or '', jobs}
end
return out`,
  3,
);

/**
 * Retires one idle entity, atomically.
 * KEYS: jobSet, countHash, touched, queues, queueEntity, workers, attempts, heartbeat keys of its recorded workers….
 * ARGV: entityId, queueName, retentionMs, queueBaseKey (`${prefix}:${queueName}:`, or '' when the queue data is
 * not in this Redis), finishedLimit, `${entityType}:${entityId}`, worker fields of the workers hash….
 *
 * Refuses ('recent') when the entity was active within retentionMs (server time), ('pending') when it has an
 * indexed job, ('worker') when one of the given heartbeats is alive, ('busy') when the BullMQ queue holds a
 * job that is not finished (waiting, active, delayed, prioritized, paused, waiting-children, scheduler).
 * Otherwise deletes up to finishedLimit kept completed/failed jobs ('more' if any remain: call again) and then
 * every BullMQ key of the queue and every index entry of the entity ('retired').
 * Because the pending check and the deletion are one script, a job indexed before it is never lost, and a job
 * indexed after it sees the queue unindexed (indexJobScript's 2nd reply) and re-registers the queue first.
 */
export const retireEntityScript = new LuaScript(
  'aq-retire-entity',
  `${NOW}
local entityId, queueName = ARGV[1], ARGV[2]
local last = redis.call('ZSCORE', KEYS[3], entityId)
if last and now - tonumber(last) < tonumber(ARGV[3]) then return 'recent' end
if redis.call('ZCARD', KEYS[1]) > 0 or tonumber(redis.call('HGET', KEYS[2], entityId) or '0') > 0 then return 'pending' end
for i = 8, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'worker' end
end
local base = ARGV[4]
if base ~= '' then
  local live = redis.call('LLEN', base .. 'wait') + redis.call('LLEN', base .. 'active') + redis.call('LLEN', base .. 'paused')
    + redis.call('ZCARD', base .. 'delayed') + redis.call('ZCARD', base .. 'prioritized')
    + redis.call('ZCARD', base .. 'waiting-children') + redis.call('ZCARD', base .. 'repeat')
  if live > 0 then return 'busy' end
  local budget = tonumber(ARGV[5])
  for _, state in ipairs({'completed', 'failed'}) do
    local setKey = base .. state
    if budget > 0 then
      local ids = redis.call('ZRANGE', setKey, 0, budget - 1)
      for _, id in ipairs(ids) do
        local jobKey = base .. id
        redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful')
        redis.call('ZREM', setKey, id)
      end
      budget = budget - #ids
    end
    if redis.call('ZCARD', setKey) > 0 then return 'more' end
  end
  redis.call('DEL', base .. 'meta', base .. 'id', base .. 'events', base .. 'marker', base .. 'stalled', base .. 'stalled-check',
    base .. 'limiter', base .. 'pc', base .. 'de', base .. 'delay', base .. 'completed', base .. 'failed', base .. 'wait', base .. 'active',
    base .. 'paused', base .. 'delayed', base .. 'prioritized', base .. 'waiting-children', base .. 'repeat',
    base .. 'metrics:completed', base .. 'metrics:completed:data', base .. 'metrics:failed', base .. 'metrics:failed:data')
end
redis.call('DEL', KEYS[1], KEYS[7])
redis.call('HDEL', KEYS[2], entityId)
redis.call('ZREM', KEYS[3], entityId)
if redis.call('HGET', KEYS[4], entityId) == queueName then redis.call('HDEL', KEYS[4], entityId) end
if redis.call('HGET', KEYS[5], queueName) == ARGV[6] then redis.call('HDEL', KEYS[5], queueName) end
for i = 7, #ARGV do redis.call('HDEL', KEYS[6], ARGV[i]) end
return 'retired'`,
  'any',
);

/** KEYS: job hashes (`${prefix}:${queue}:${jobId}`)…. Per job: 0 no job hash, 1 finished (finishedOn set), 2 not finished. */
export const jobPresenceScript = new LuaScript(
  'aq-job-presence',
  `local out = {}
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then out[i] = 0
  elseif redis.call('HEXISTS', KEYS[i], 'finishedOn') == 1 then out[i] = 1
  else out[i] = 2 end
end
return out`,
  'any',
);
