-- Appends a message to one agent's inbox stream unless the inbox holds maxQueue unexpired
-- messages: overflow is refused, never dropped. Messages carry their own ttl, so expiry is
-- tracked in a sorted set (id -> expiresAt): expired entries are deleted here exactly, and
-- counting the unexpired ones is one ZCARD.
-- KEYS[1] record, KEYS[2] inboxes, KEYS[3] inbox stream, KEYS[4] inbox expiry
-- ARGV[1] agent, ARGV[2] from, ARGV[3] payload JSON ('' = none), ARGV[4] now,
-- ARGV[5] expiresAt, ARGV[6] maxQueue
-- Returns {1, id} when appended, {0, depth} when refused (depth 0: unknown workflow).
local record, inboxes, stream, expiry = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', record) == 0 then
  return {0, 0}
end
redis.call('SADD', inboxes, ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', ARGV[4])
for i = 1, #expired, 500 do
  redis.call('XDEL', stream, unpack(expired, i, math.min(i + 499, #expired)))
end
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', expiry, '-inf', ARGV[4])
end
local depth = redis.call('ZCARD', expiry)
if depth >= tonumber(ARGV[6]) then
  return {0, depth}
end
local id = redis.call('XADD', stream, '*', 'from', ARGV[2], 'payload', ARGV[3],
  'createdAt', ARGV[4], 'expiresAt', ARGV[5])
redis.call('ZADD', expiry, ARGV[5], id)
return {1, id}
