import { MemoryStore } from '../core/store/memory/memory-store.ts';
import { createRedisStore } from '../core/store/redis/redis-store.ts';
import type { StateStore } from '../core/store/state-store.ts';
import { redisOptions, usesRedis } from '../core/redis-settings.ts';
import type { RouterConfig } from './config.ts';

/** The fleet's state: Redis when configured (URL, Sentinel or Cluster), else in-memory. */
export async function createStore(config: RouterConfig): Promise<StateStore> {
  if (!usesRedis(config)) return new MemoryStore();
  return createRedisStore(redisOptions(config));
}
