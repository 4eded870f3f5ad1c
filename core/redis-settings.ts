import type { RedisStoreOptions } from './store/redis/redis-store.ts';

/** How the router and the operator reach Redis: the flags both share (`--redis-*`). */
export interface RedisSettings {
  redisUrl?: string | undefined;
  redisSentinels: { host: string; port: number }[];
  redisSentinelName?: string | undefined;
  redisClusterNodes: { host: string; port: number }[];
  /** ACL user and password for Sentinel- and Cluster-managed nodes (a URL carries its own). */
  redisUsername?: string | undefined;
  redisPassword?: string | undefined;
  redisSentinelPassword?: string | undefined;
  /** TLS to Sentinel and Cluster nodes (a rediss:// URL implies it). */
  redisTls?: boolean | undefined;
  redisPrefix: string;
}

export function usesRedis(settings: RedisSettings): boolean {
  return (
    settings.redisUrl !== undefined ||
    settings.redisSentinels.length > 0 ||
    settings.redisClusterNodes.length > 0
  );
}

/** The store's connection options for these settings. */
export function redisOptions(settings: RedisSettings): RedisStoreOptions {
  return {
    ...(settings.redisUrl !== undefined ? { url: settings.redisUrl } : {}),
    ...(settings.redisSentinels.length > 0 ? { sentinels: settings.redisSentinels } : {}),
    ...(settings.redisSentinelName !== undefined ? { sentinelName: settings.redisSentinelName } : {}),
    ...(settings.redisClusterNodes.length > 0 ? { clusterNodes: settings.redisClusterNodes } : {}),
    ...(settings.redisUsername !== undefined ? { username: settings.redisUsername } : {}),
    ...(settings.redisPassword !== undefined ? { password: settings.redisPassword } : {}),
    ...(settings.redisSentinelPassword !== undefined
      ? { sentinelPassword: settings.redisSentinelPassword }
      : {}),
    ...(settings.redisTls ? { tls: true } : {}),
    prefix: settings.redisPrefix,
  };
}
