-- Folds one workflow's part of a replica's statistics batch into its record, as the memory
-- store does with stats-batch.ts and applyEvent (workflow-record.ts): once per batch, and
-- records the replica's share of calls in flight. Unknown workflows are ignored.
-- KEYS[1] record
-- ARGV[1] writer (the replica), ARGV[2] its batch number (1, 2, 3... sent in order, a failed
--   batch re-sent unchanged), ARGV[3] its calls in flight for this workflow ('' = not in this
--   batch), ARGV[4] lease of that count in ms, ARGV[5] how long a silent writer's mark is kept
-- ARGV[6..]: 7 values per event: kind, at, agent ('' = none), a, b, c, ok ('1' | '0')
--   kind s = call-start; c = call (a, b, c = prompt, cached, completion tokens);
--   p = spill; m = migration; g = messages (a, b, c = sent, delivered, refused)
-- The writer's mark is the field 'w|' .. writer = 'seq:calls:until' (until: end of the lease,
-- on this server's clock). A batch at or below the mark's seq was applied already (the reply
-- of its first attempt was lost) and changes nothing.
-- Returns {0} for an unknown workflow, else {1, lastActiveAt}.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {0}
end
local writerField = 'w|' .. ARGV[1]
local seq = tonumber(ARGV[2])
local share, leaseMs, retentionMs = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])

local function parseMark(raw)
  local s, c, u = string.match(raw or '', '^(%d+):(%d+):(%d+)$')
  if not s then
    return nil
  end
  return {seq = tonumber(s), calls = tonumber(c), untilMs = tonumber(u)}
end

local mark = parseMark(redis.call('HGET', record, writerField))
local last = redis.call('HGET', record, 'lastActiveAt')
if mark and seq <= mark.seq then
  return {1, last}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- A writer's first batch here: forget the marks of writers silent for longer than the retention.
if not mark then
  local fields = redis.call('HGETALL', record)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 'w|' then
      local old = parseMark(fields[i + 1])
      if old and old.untilMs + retentionMs < now then
        redis.call('HDEL', record, fields[i])
      end
    end
  end
end

local lastNum = tonumber(last) or 0
local touched = false

local function add(field, amount)
  if amount ~= '0' then
    redis.call('HINCRBY', record, field, amount)
  end
end

for i = 6, #ARGV, 7 do
  local kind, at, agent = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local a, b, c, ok = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local atNum = tonumber(at)
  if atNum > lastNum then
    lastNum = atNum
    last = at
    touched = true
  end
  local agentField = nil
  if agent ~= '' then
    agentField = 'a|' .. agent .. '|'
  end
  if kind == 's' then
    if agentField then
      redis.call('HSET', record, agentField .. 'lastSeenAt', at)
    end
  elseif kind == 'c' then
    if agentField then
      local seen = redis.call('HGET', record, agentField .. 'lastSeenAt')
      if not seen or atNum > tonumber(seen) then
        redis.call('HSET', record, agentField .. 'lastSeenAt', at)
      end
    end
    if ok == '1' then
      add('calls', '1')
      add('promptTokens', a)
      add('cachedTokens', b)
      add('completionTokens', c)
      if agentField then
        add(agentField .. 'calls', '1')
        add(agentField .. 'promptTokens', a)
        add(agentField .. 'cachedTokens', b)
        add(agentField .. 'completionTokens', c)
      end
    else
      add('errors', '1')
      if agentField then
        add(agentField .. 'errors', '1')
      end
    end
  elseif kind == 'p' then
    add('spills', '1')
  elseif kind == 'm' then
    add('migrations', '1')
  elseif kind == 'g' then
    add('msgSent', a)
    add('msgDelivered', b)
    add('msgRefused', c)
  end
end
if touched then
  redis.call('HSET', record, 'lastActiveAt', last)
end

-- The new mark (markAfter in stats-batch.ts): a share renews the lease; without one a running
-- lease is kept, and with no calls `until` is the time of this batch (the retention counts from it).
local calls, untilMs
if share ~= '' then
  calls, untilMs = tonumber(share), now + leaseMs
elseif mark and mark.calls > 0 then
  calls, untilMs = mark.calls, mark.untilMs
else
  calls, untilMs = 0, now
end
redis.call('HSET', record, writerField,
  string.format('%.0f:%.0f:%.0f', seq, calls, untilMs))
return {1, last}
