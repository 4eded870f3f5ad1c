-- Counts messages against a tenant's queued-messages limit until they expire: expired
-- reservations are dropped first, and a quota without room for all of them refuses them all
-- (nothing is stored; a batch is all or nothing).
-- KEYS[1] message reservations
-- ARGV[1] now (ms), ARGV[2] max, then pairs: ARGV[3] expiresAt, ARGV[4] member, ...
-- Returns {1} when reserved, {0, queued} when refused.
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local queued = redis.call('ZCARD', KEYS[1])
local count = (#ARGV - 2) / 2
if queued + count > tonumber(ARGV[2]) then
  return {0, queued}
end
local latest = now
for i = 3, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
  latest = math.max(latest, tonumber(ARGV[i]))
end
local ttl = redis.call('PTTL', KEYS[1])
local want = latest - now
if ttl < want then
  redis.call('PEXPIRE', KEYS[1], math.ceil(want) + 1000)
end
return {1}
