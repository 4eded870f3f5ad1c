-- Appends a batch of messages to a workflow's inboxes, every one or none: the batch is
-- refused whole when one message would find its inbox holding maxQueue unexpired messages
-- (counting the batch's earlier ones to the same inbox), so overflow is never dropped and a
-- refused batch stores nothing. As in send-message.lua, expired entries are deleted first.
-- The inbox keys are derived as prefix .. agent, like remove-workflow.lua: they carry the
-- workflow's hash tag, so they live in the record's Cluster slot.
-- KEYS[1] record, KEYS[2] inboxes
-- ARGV[1] inbox stream key prefix, ARGV[2] inbox expiry key prefix, ARGV[3] now,
-- ARGV[4] maxQueue, ARGV[5] the number of recipients R, ARGV[6 .. 5+R] the recipients, then
-- per message four values: recipient number (1..R), from, payload JSON, expiresAt.
-- Returns {1, id1, id2, ...} when appended, {0} for an unknown workflow, or
-- {2, index (1-based), depth} when message `index` would overflow its inbox.
local record, inboxes = KEYS[1], KEYS[2]
if redis.call('EXISTS', record) == 0 then
  return {0}
end
local streamPrefix, expiryPrefix, now = ARGV[1], ARGV[2], ARGV[3]
local maxQueue = tonumber(ARGV[4])
local recipients = tonumber(ARGV[5])
local first = 6 + recipients

local depths = {}
for r = 1, recipients do
  local agent = ARGV[5 + r]
  local stream, expiry = streamPrefix .. agent, expiryPrefix .. agent
  local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  for i = 1, #expired, 500 do
    redis.call('XDEL', stream, unpack(expired, i, math.min(i + 499, #expired)))
  end
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', expiry, '-inf', now)
  end
  depths[r] = redis.call('ZCARD', expiry)
end

local queued = {}
for i = first, #ARGV, 4 do
  local r = tonumber(ARGV[i])
  local count = (queued[r] or 0) + 1
  if depths[r] + count > maxQueue then
    return {2, (i - first) / 4 + 1, depths[r]}
  end
  queued[r] = count
end

local out = {1}
for r = 1, recipients do
  redis.call('SADD', inboxes, ARGV[5 + r])
end
for i = first, #ARGV, 4 do
  local agent = ARGV[5 + tonumber(ARGV[i])]
  local id = redis.call('XADD', streamPrefix .. agent, '*', 'from', ARGV[i + 1], 'payload', ARGV[i + 2],
    'createdAt', now, 'expiresAt', ARGV[i + 3])
  redis.call('ZADD', expiryPrefix .. agent, ARGV[i + 3], id)
  out[#out + 1] = id
end
return out
