import { MemoryStore } from '../core/store/memory/memory-store.ts';
import { createRedisStore } from '../core/store/redis/redis-store.ts';
import type { StateStore } from '../core/store/state-store.ts';
import type { RouterConfig } from './config.ts';

/** The fleet's state: Redis when configured (URL, Sentinel or Cluster), else in-memory. */
export async function createStore(config: RouterConfig): Promise<StateStore> {
  const redis =
    config.redisUrl !== undefined || config.redisSentinels.length > 0 || config.redisClusterNodes.length > 0;
  if (!redis) return new MemoryStore();
  return createRedisStore({
    ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}),
    ...(config.redisSentinels.length > 0 ? { sentinels: config.redisSentinels } : {}),
    ...(config.redisSentinelName !== undefined ? { sentinelName: config.redisSentinelName } : {}),
    ...(config.redisClusterNodes.length > 0 ? { clusterNodes: config.redisClusterNodes } : {}),
    prefix: config.redisPrefix,
  });
}
