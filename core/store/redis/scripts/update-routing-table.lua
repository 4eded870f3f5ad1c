-- Applies a change to the routing table and announces the new version (routing-table-store.ts).
-- Pools whose JSON is unchanged are skipped; nothing changed: no new version, no announcement.
-- KEYS[1] pools HASH (pool id -> RoutingPool JSON), KEYS[2] meta HASH (version, updatedAt)
-- ARGV[1] now, ARGV[2] channel, ARGV[3] n = number of pools written,
-- ARGV[4 .. 3+2n] pool id, JSON pairs, ARGV[4+2n ..] ids of pools to remove
-- Returns {version after the change, 1 if anything changed else 0}.
local n = tonumber(ARGV[3])
local changed = false
for i = 0, n - 1 do
  local id = ARGV[4 + 2 * i]
  local json = ARGV[5 + 2 * i]
  if redis.call('HGET', KEYS[1], id) ~= json then
    redis.call('HSET', KEYS[1], id, json)
    changed = true
  end
end
for i = 4 + 2 * n, #ARGV do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then
    changed = true
  end
end
if not changed then
  return {tonumber(redis.call('HGET', KEYS[2], 'version') or '0'), 0}
end
local version = redis.call('HINCRBY', KEYS[2], 'version', 1)
redis.call('HSET', KEYS[2], 'updatedAt', ARGV[1])
redis.call('PUBLISH', ARGV[2], tostring(version))
return {version, 1}
