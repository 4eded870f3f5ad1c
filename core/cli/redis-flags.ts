import { Option, type Command } from 'commander';
import type { RedisSettings } from '../redis-settings.ts';
import { FlagError } from './flag-error.ts';

/**
 * The `--redis-*` flags the router and the operator share: one definition, so both programs
 * (and the chart that passes them) accept exactly the same spelling and values.
 */
export interface RedisFlags {
  redisUrl?: string;
  redisSentinels?: { host: string; port: number }[];
  redisSentinelName?: string;
  redisClusterNodes?: { host: string; port: number }[];
  redisUsername?: string;
  redisPassword?: string;
  redisSentinelPassword?: string;
  redisTls?: boolean;
  redisPrefix: string;
}

/** `host:port,host:port` for Sentinel and Cluster seeds. */
function addresses(flagName: string) {
  return (value: string): { host: string; port: number }[] =>
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((entry) => {
        const match = /^([^:]+|\[[^\]]+\]):(\d{1,5})$/.exec(entry);
        const port = Number(match?.[2]);
        if (!match?.[1] || !(port >= 1 && port <= 65535))
          throw new FlagError(flagName, entry, 'comma-separated host:port');
        return { host: match[1].replace(/^\[|\]$/g, ''), port };
      });
}

/** Adds the options to a command, each also read from `envName(flag)`. */
export function addRedisFlags(
  cmd: Command,
  envName: (flag: string) => string,
  help: { url: string; prefix: string },
  defaultPrefix: string,
): Command {
  for (const option of redisFlagOptions(envName, help, defaultPrefix)) cmd.addOption(option);
  return cmd;
}

function redisFlagOptions(
  envName: (flag: string) => string,
  help: { url: string; prefix: string },
  defaultPrefix: string,
): Option[] {
  const flag = (name: string, arg: string, description: string): Option =>
    new Option(`--${name} <${arg}>`, description).env(envName(name));
  return [
    flag('redis-url', 'url', help.url),
    flag(
      'redis-sentinels',
      'hosts',
      'comma-separated host:port of Redis Sentinels (with --redis-sentinel-name)',
    ).argParser(addresses('redis-sentinels')),
    flag('redis-sentinel-name', 'name', 'Sentinel master group name'),
    flag('redis-cluster-nodes', 'hosts', 'comma-separated host:port of Redis Cluster nodes').argParser(
      addresses('redis-cluster-nodes'),
    ),
    flag('redis-username', 'user', 'Redis ACL user for Sentinel or Cluster nodes (a URL carries its own)'),
    flag(
      'redis-password',
      'password',
      'Redis password for Sentinel or Cluster nodes; prefer the environment variable',
    ),
    flag('redis-sentinel-password', 'password', 'password of the Sentinels themselves'),
    new Option('--redis-tls', 'TLS to Sentinel or Cluster nodes (rediss:// implies it)').env(
      envName('redis-tls'),
    ),
    flag('redis-prefix', 'prefix', help.prefix).default(defaultPrefix),
  ];
}

/** Checks the combination and returns the settings; `required` names why Redis is needed, if it is. */
export function redisSettingsFromFlags(
  f: RedisFlags,
  required: string | undefined,
): RedisSettings & { redisTls: boolean } {
  if (f.redisSentinels?.length && !f.redisSentinelName) {
    throw new FlagError(
      'redis-sentinel-name',
      '',
      'the Sentinel master group name, required with --redis-sentinels',
    );
  }
  if (f.redisUrl !== undefined && !/^rediss?:\/\//.test(f.redisUrl)) {
    throw new FlagError('redis-url', f.redisUrl, 'a redis:// or rediss:// URL');
  }
  const settings: RedisSettings & { redisTls: boolean } = {
    redisUrl: f.redisUrl,
    redisSentinels: f.redisSentinels ?? [],
    redisSentinelName: f.redisSentinelName,
    redisClusterNodes: f.redisClusterNodes ?? [],
    redisUsername: f.redisUsername,
    redisPassword: f.redisPassword,
    redisSentinelPassword: f.redisSentinelPassword,
    redisTls: f.redisTls === true,
    redisPrefix: f.redisPrefix,
  };
  if (
    required !== undefined &&
    !(f.redisUrl || settings.redisSentinels.length || settings.redisClusterNodes.length)
  ) {
    throw new FlagError('redis-url', '', required);
  }
  return settings;
}
