-- Removes a workflow and everything it owns (record with its pin, context, inboxes) when
-- the mode's condition still holds at the moment of removal, and tells the other replicas.
-- KEYS[1] record, KEYS[2] context, KEYS[3] inboxes
-- ARGV[1] mode: 'delete' (always) | 'evict' (no call in flight and not active after ARGV[2];
--   calls in flight are the replicas' shares whose lease has not ended on this server's clock,
--   the 'w|<writer>' fields written by apply-events.lua)
--   | 'expire' (lastActiveAt + ttl <= ARGV[2])
-- ARGV[2] bound, ARGV[3] inbox key prefix, ARGV[4] inbox expiry key prefix (an inbox's keys
--   are prefix .. agent and carry this workflow's hash tag, so they live in this slot)
-- ARGV[5] invalidation channel, ARGV[6] invalidation message
-- Returns {'missing'} | {'busy'} | {'stale', lastActiveAt}
--   | {'alive', lastActiveAt, ttlSeconds, pinSeq, pod} | {'removed', pod}.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {'missing'}
end
local f = redis.call('HMGET', record, 'lastActiveAt', 'ttlSeconds', 'pinSeq', 'pod')
local last, ttl = f[1], f[2]
local seq, pod = f[3] or '0', f[4] or ''
local mode = ARGV[1]

local function inflight()
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local calls = 0
  local fields = redis.call('HGETALL', record)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'w|' then
      local _, c, u = string.match(fields[i + 1], '^(%d+):(%d+):(%d+)$')
      if c and tonumber(u) > now then
        calls = calls + tonumber(c)
      end
    end
  end
  return calls
end

if mode == 'evict' then
  if inflight() > 0 then
    return {'busy'}
  end
  if tonumber(last) > tonumber(ARGV[2]) then
    return {'stale', last}
  end
elseif mode == 'expire' then
  if tonumber(last) + tonumber(ttl) * 1000 > tonumber(ARGV[2]) then
    return {'alive', last, ttl, seq, pod}
  end
end
for _, agent in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('DEL', ARGV[3] .. agent, ARGV[4] .. agent)
end
redis.call('DEL', record, KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {'removed', pod}
