-- Counts one message against a tenant's queued-messages limit until it expires: expired
-- reservations are dropped first, and a full quota refuses (nothing is stored).
-- KEYS[1] message reservations
-- ARGV[1] now (ms), ARGV[2] max, ARGV[3] expiresAt, ARGV[4] member
-- Returns {1} when reserved, {0, queued} when refused.
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local queued = redis.call('ZCARD', KEYS[1])
if queued >= tonumber(ARGV[2]) then
  return {0, queued}
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
local ttl = redis.call('PTTL', KEYS[1])
local want = tonumber(ARGV[3]) - now
if ttl < want then
  redis.call('PEXPIRE', KEYS[1], math.ceil(want) + 1000)
end
return {1}
