-- Drops a removed (or never-existing) workflow from the fleet indexes; counts it as evicted
-- or expired only when the caller's removal script actually removed it, so each removal is
-- counted once fleet-wide. Idempotent.
-- KEYS[1] activity, KEYS[2] expiry, KEYS[3] pins, KEYS[4] pin-seqs, KEYS[5] pin-counts,
-- KEYS[6] tenant-live, KEYS[7] stats
-- ARGV[1] member, ARGV[2] counter to increment ('' = none)
local member = ARGV[1]
if redis.call('ZREM', KEYS[1], member) == 1 then
  local tenant = string.match(member, '^([^/]*)/')
  if redis.call('HINCRBY', KEYS[6], tenant, -1) <= 0 then
    redis.call('HDEL', KEYS[6], tenant)
  end
end
redis.call('ZREM', KEYS[2], member)
local old = redis.call('HGET', KEYS[3], member)
if old then
  if redis.call('HINCRBY', KEYS[5], old, -1) <= 0 then
    redis.call('HDEL', KEYS[5], old)
  end
end
redis.call('HDEL', KEYS[3], member)
redis.call('HDEL', KEYS[4], member)
if ARGV[2] ~= '' then
  redis.call('HINCRBY', KEYS[7], ARGV[2], 1)
end
return 1
