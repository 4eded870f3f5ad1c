-- Marks messages an agent read as delivered and counts those never delivered before. Each
-- inbox keeps a high-water mark, the greatest message id ever handed to a reader (the record
-- field `d|<agent>`), so a re-read from an older cursor counts nothing and the record's
-- msgDelivered counts every message once.
-- KEYS[1] record
-- ARGV[1] agent, ARGV[2..] the ids read
-- Returns the number of newly delivered messages (0 for an unknown workflow).
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return 0
end
local field = 'd|' .. ARGV[1]
local mark = redis.call('HGET', record, field)

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms) or 0, tonumber(seq) or 0
end

local function greater(a, b)
  if not b then
    return true
  end
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then
    return am > bm
  end
  return as > bs
end

local count = 0
local top = mark
for i = 2, #ARGV do
  if greater(ARGV[i], mark) then
    count = count + 1
    if greater(ARGV[i], top) then
      top = ARGV[i]
    end
  end
end
if count > 0 then
  redis.call('HSET', record, field, top)
  redis.call('HINCRBY', record, 'msgDelivered', count)
end
return count
