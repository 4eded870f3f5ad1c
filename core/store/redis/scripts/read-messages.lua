-- Reads an inbox's unexpired messages after a cursor (exclusive), oldest first, scanning at
-- most a budget of entries so a long run of expired ones never blocks the server; the
-- caller continues from the returned cursor until done. Registers the reader's inbox.
-- KEYS[1] record, KEYS[2] inboxes, KEYS[3] inbox stream
-- ARGV[1] agent, ARGV[2] after ('' = from the start), ARGV[3] limit, ARGV[4] now,
-- ARGV[5] scan budget
-- Returns {0} for an unknown workflow, else
-- {1, cursor, done (0|1), {{id, from, payload, createdAt, expiresAt}, ...}}.
local record, inboxes, stream = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', record) == 0 then
  return {0}
end
redis.call('SADD', inboxes, ARGV[1])
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local cursor = ARGV[2]
local out = {}
local done = 0
while #out < limit and budget > 0 and done == 0 do
  local start = '-'
  if cursor ~= '' then
    start = '(' .. cursor
  end
  local count = math.min(budget, math.max(limit - #out, 16))
  local batch = redis.call('XRANGE', stream, start, '+', 'COUNT', count)
  budget = budget - #batch
  if #batch < count then
    done = 1
  end
  for _, entry in ipairs(batch) do
    cursor = entry[1]
    local f = {}
    local fields = entry[2]
    for j = 1, #fields, 2 do
      f[fields[j]] = fields[j + 1]
    end
    if tonumber(f.expiresAt) > now then
      out[#out + 1] = {entry[1], f.from, f.payload, f.createdAt, f.expiresAt}
      if #out >= limit then
        if entry[1] ~= batch[#batch][1] then
          done = 0
        end
        break
      end
    end
  end
end
return {1, cursor, done, out}
