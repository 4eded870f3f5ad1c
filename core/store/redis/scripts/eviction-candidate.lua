-- While the fleet holds more than maxWorkflows live workflows, returns the least recently
-- active one that the caller has not already found busy.
-- KEYS[1] activity
-- ARGV[1] maxWorkflows, ARGV[2..] members to skip
-- Returns false when nothing needs evicting, else {member, lastActiveAt}.
local activity = KEYS[1]
if redis.call('ZCARD', activity) - tonumber(ARGV[1]) <= 0 then
  return false
end
local skip = {}
for i = 2, #ARGV do
  skip[ARGV[i]] = true
end
local offset = 0
while true do
  local batch = redis.call('ZRANGE', activity, offset, offset + 99, 'WITHSCORES')
  if #batch == 0 then
    return false
  end
  for i = 1, #batch, 2 do
    if not skip[batch[i]] then
      return {batch[i], batch[i + 1]}
    end
  end
  offset = offset + 100
end
