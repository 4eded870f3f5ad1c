-- Counts an inbox's unexpired messages (expiresAt > now). Registers the inbox.
-- KEYS[1] record, KEYS[2] inboxes, KEYS[3] inbox expiry
-- ARGV[1] agent, ARGV[2] now
-- Returns the count (0 for an unknown workflow).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[2], '+inf')
