-- Folds one workflow's batch of request-path events into its record, as applyEvent in
-- workflow-record.ts does. Unknown workflows are ignored.
-- KEYS[1] record
-- ARGV: 7 values per event: kind, at, agent ('' = none), a, b, c, ok ('1' | '0')
--   kind s = call-start; c = call (a, b, c = prompt, cached, completion tokens);
--   p = spill; m = migration; g = messages (a, b, c = sent, delivered, refused)
-- Returns {0} for an unknown workflow, else {1, lastActiveAt}.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {0}
end
local last = redis.call('HGET', record, 'lastActiveAt')
local lastNum = tonumber(last) or 0
local touched = false

local function add(field, amount)
  if amount ~= '0' then
    redis.call('HINCRBY', record, field, amount)
  end
end

for i = 1, #ARGV, 7 do
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
    redis.call('HINCRBY', record, 'inflight', 1)
    if agentField then
      redis.call('HSET', record, agentField .. 'lastSeenAt', at)
    end
  elseif kind == 'c' then
    local inflight = tonumber(redis.call('HGET', record, 'inflight')) or 0
    if inflight > 0 then
      redis.call('HSET', record, 'inflight', inflight - 1)
    end
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
return {1, last}
