-- Pins a workflow to a pod unless it is pinned already (SET NX semantics on the record's
-- pod field): the first writer wins fleet-wide. Tells the other replicas' near-caches.
-- KEYS[1] record
-- ARGV[1] pod, ARGV[2] invalidation channel, ARGV[3] invalidation message
-- Returns {0, ''} for an unknown workflow, {0, pod} when already pinned,
-- {1, pod, pinSeq, lastActiveAt, ttlSeconds} when this call won.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {0, ''}
end
local current = redis.call('HGET', record, 'pod')
if current then
  return {0, current}
end
local t = redis.call('TIME')
local seq = tonumber(t[1]) * 1000000 + tonumber(t[2])
local previous = tonumber(redis.call('HGET', record, 'pinSeq')) or 0
if seq <= previous then
  seq = previous + 1
end
seq = string.format('%.0f', seq)
redis.call('HSET', record, 'pod', ARGV[1], 'pinSeq', seq)
redis.call('PUBLISH', ARGV[2], ARGV[3])
local f = redis.call('HMGET', record, 'lastActiveAt', 'ttlSeconds')
return {1, ARGV[1], seq, f[1], f[2]}
