-- Appends a shared-context entry unless the context would exceed its token budget; past
-- the budget, marks the record so the workflow's status says so.
-- KEYS[1] record, KEYS[2] context
-- ARGV[1] entry JSON, ARGV[2] tokens, ARGV[3] budget
-- Returns {appended (0|1), total tokens}.
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return {0, '0'}
end
local total = redis.call('HGET', record, 'contextTokens') or '0'
if tonumber(total) + tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  redis.call('HSET', record, 'contextBudgetReached', '1')
  return {0, total}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HINCRBY', record, 'contextEntries', 1)
return {1, redis.call('HINCRBYFLOAT', record, 'contextTokens', ARGV[2])}
