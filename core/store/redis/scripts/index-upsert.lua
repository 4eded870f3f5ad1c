-- Records in the fleet indexes ({fleet} slot) what a workflow script just read from the
-- workflow's own slot. Idempotent and order-tolerant (see fleet-index.ts):
-- activity only grows (GT); expiry keeps a lower bound (LT) unless the TTL sweep, which read
-- the exact value, sets it; the pin changes only for a newer pin version.
-- A member new to the activity index counts as a live workflow of its tenant.
-- KEYS[1] activity, KEYS[2] expiry, KEYS[3] pins, KEYS[4] pin-seqs, KEYS[5] pin-counts,
-- KEYS[6] tenant-live
-- ARGV[1] member, ARGV[2] lastActiveAt, ARGV[3] expiresAt, ARGV[4] 'lower' | 'exact',
-- ARGV[5] pin version ('' = unknown), ARGV[6] pod ('' = not pinned)
local member = ARGV[1]
if redis.call('ZADD', KEYS[1], 'GT', ARGV[2], member) == 1 then
  redis.call('HINCRBY', KEYS[6], string.match(member, '^([^/]*)/'), 1)
end
if ARGV[4] == 'exact' then
  redis.call('ZADD', KEYS[2], ARGV[3], member)
else
  redis.call('ZADD', KEYS[2], 'LT', ARGV[3], member)
end
if ARGV[5] ~= '' then
  local known = tonumber(redis.call('HGET', KEYS[4], member)) or -1
  if tonumber(ARGV[5]) > known then
    local pod = ARGV[6]
    local old = redis.call('HGET', KEYS[3], member)
    if old and old ~= pod then
      if redis.call('HINCRBY', KEYS[5], old, -1) <= 0 then
        redis.call('HDEL', KEYS[5], old)
      end
    end
    if pod == '' then
      redis.call('HDEL', KEYS[3], member)
    elseif old ~= pod then
      redis.call('HSET', KEYS[3], member, pod)
      redis.call('HINCRBY', KEYS[5], pod, 1)
    end
    redis.call('HSET', KEYS[4], member, ARGV[5])
  end
end
return 1
