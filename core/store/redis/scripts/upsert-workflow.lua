-- Creates a workflow when absent, else touches its activity; with a declaration, applies it
-- and tells the other replicas' near-caches (workflow-record.ts newRecord/touch/applySpec).
-- KEYS[1] record
-- ARGV[1] now, ARGV[2] strategy, ARGV[3] priority, ARGV[4] ttlSeconds (defaults of a new workflow)
-- ARGV[5] spec JSON ('' = no declaration), ARGV[6] strategy, ARGV[7] priority, ARGV[8] ttlSeconds
-- ARGV[9] invalidation channel, ARGV[10] invalidation message
-- Returns {created (0|1), HGETALL of the record}.
local record = KEYS[1]
local now = ARGV[1]
local created = 0
if redis.call('EXISTS', record) == 0 then
  -- The pin version starts at the server's clock, so a new incarnation of a deleted
  -- workflow outranks index updates left over from the old one.
  local t = redis.call('TIME')
  local seq = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('HSET', record, 'createdAt', now, 'lastActiveAt', now, 'strategy', ARGV[2],
    'priority', ARGV[3], 'ttlSeconds', ARGV[4], 'pinSeq', seq)
  created = 1
else
  local last = tonumber(redis.call('HGET', record, 'lastActiveAt')) or 0
  if tonumber(now) > last then
    redis.call('HSET', record, 'lastActiveAt', now)
  end
end
if ARGV[5] ~= '' then
  redis.call('HSET', record, 'spec', ARGV[5], 'strategy', ARGV[6], 'priority', ARGV[7],
    'ttlSeconds', ARGV[8])
  redis.call('PUBLISH', ARGV[9], ARGV[10])
end
return {created, redis.call('HGETALL', record)}
