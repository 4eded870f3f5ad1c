-- Reads the whole routing table as of one version (routing-table-store.ts).
-- KEYS[1] pools HASH, KEYS[2] meta HASH
-- Returns {version, updatedAt, HGETALL of the pools}.
return {
  redis.call('HGET', KEYS[2], 'version') or '0',
  redis.call('HGET', KEYS[2], 'updatedAt') or '0',
  redis.call('HGETALL', KEYS[1]),
}
