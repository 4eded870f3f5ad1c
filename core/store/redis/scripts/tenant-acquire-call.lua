-- Admits one call of a tenant under its concurrency limit (leases in a sorted set, expired
-- ones dropped first) and its calls/s limit (GCRA: the theoretical arrival time of the next
-- call, with a burst of one second's worth). Neither is consumed when either refuses.
-- KEYS[1] rate (GCRA TAT), KEYS[2] call leases
-- ARGV[1] now (ms), ARGV[2] calls/s (0 = unlimited), ARGV[3] max concurrent (0 = unlimited),
-- ARGV[4] lease ms, ARGV[5] lease id
-- Returns {1} when admitted, {0, 'rate'|'concurrency', retryAfterMs} when refused.
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local maxConcurrent = tonumber(ARGV[3])
local leaseMs = tonumber(ARGV[4])
if maxConcurrent > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxConcurrent then
    return {0, 'concurrency', 1000}
  end
end
if rate > 0 then
  local interval = 1000 / rate
  local burst = math.max(1, rate)
  local tat = tonumber(redis.call('GET', KEYS[1])) or now
  if tat < now then
    tat = now
  end
  local nextTat = tat + interval
  local allowAt = nextTat - interval * burst
  if now < allowAt then
    return {0, 'rate', tostring(math.ceil(allowAt - now))}
  end
  redis.call('SET', KEYS[1], tostring(nextTat), 'PX', math.ceil(nextTat - now) + 1000)
end
if maxConcurrent > 0 then
  redis.call('ZADD', KEYS[2], now + leaseMs, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], leaseMs * 2)
end
return {1}
