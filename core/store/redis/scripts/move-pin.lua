-- Moves a pin only if it still points at the expected pod (compare-and-set, a migration).
-- Tells the other replicas' near-caches.
-- KEYS[1] record
-- ARGV[1] from, ARGV[2] to, ARGV[3] invalidation channel, ARGV[4] invalidation message
-- Returns {0, current pod or ''} when not moved, {1, to, pinSeq, lastActiveAt, ttlSeconds} when moved.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {0, ''}
end
local current = redis.call('HGET', record, 'pod')
if current ~= ARGV[1] then
  return {0, current or ''}
end
local t = redis.call('TIME')
local seq = tonumber(t[1]) * 1000000 + tonumber(t[2])
local previous = tonumber(redis.call('HGET', record, 'pinSeq')) or 0
if seq <= previous then
  seq = previous + 1
end
seq = string.format('%.0f', seq)
redis.call('HSET', record, 'pod', ARGV[2], 'pinSeq', seq)
redis.call('PUBLISH', ARGV[3], ARGV[4])
local f = redis.call('HMGET', record, 'lastActiveAt', 'ttlSeconds')
return {1, ARGV[2], seq, f[1], f[2]}
