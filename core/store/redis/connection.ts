import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A standalone/Sentinel client or a Cluster client: the store uses what both offer. */
export type RedisClient = Redis | Cluster;

export interface RedisAddress {
  host: string;
  port: number;
}

/** How to reach Redis: a URL, a Sentinel group or Cluster nodes (in that order of precedence: cluster, sentinel, url). */
export interface ConnectionOptions {
  /** Standalone `redis://[user:pass@]host:port[/db]` or TLS `rediss://...` (default redis://127.0.0.1:6379). */
  url?: string;
  sentinels?: RedisAddress[];
  /** The Sentinel master group name (required with `sentinels`). */
  sentinelName?: string;
  sentinelPassword?: string;
  clusterNodes?: RedisAddress[];
  username?: string;
  password?: string;
  /** TLS for Sentinel and Cluster connections (a `rediss://` URL implies it). */
  tls?: boolean;
  /** A command without a reply after this long fails with StoreUnavailableError (default 2000). */
  commandTimeoutMs?: number;
}

const CONNECT_TIMEOUT_MS = 2000;

/** Reconnects forever with a short, capped backoff, so the store recovers by itself. */
function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 5), 1000);
}

/**
 * Options shared by every connection: fail fast instead of queueing while Redis is away
 * (no offline queue, no retried or re-sent commands), so the router can answer 503 at once.
 */
function nodeOptions(options: ConnectionOptions): RedisOptions {
  return {
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.tls ? { tls: {} } : {}),
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    keepAlive: 10_000,
    connectionName: 'workflow-router',
  };
}

/** The main client: commands issued in one tick go out as one pipeline per node. */
export function createClient(options: ConnectionOptions): RedisClient {
  const common = nodeOptions(options);
  if (options.clusterNodes && options.clusterNodes.length > 0) {
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      scaleReads: 'master',
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
      redisOptions: common,
    };
    return new Cluster(options.clusterNodes, clusterOptions);
  }
  const standalone: RedisOptions = {
    ...common,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: reconnectDelay,
  };
  if (options.sentinels && options.sentinels.length > 0) {
    if (!options.sentinelName) throw new Error('sentinelName is required with sentinels');
    return new Redis({
      ...standalone,
      sentinels: options.sentinels,
      name: options.sentinelName,
      ...(options.sentinelPassword !== undefined ? { sentinelPassword: options.sentinelPassword } : {}),
      ...(options.tls ? { enableTLSForSentinelMode: true } : {}),
    });
  }
  return new Redis(options.url ?? 'redis://127.0.0.1:6379', standalone);
}

/**
 * A dedicated connection for blocking reads (XREAD BLOCK holds its connection). No command
 * timeout (the BLOCK argument bounds the wait; ioredis' blockingTimeout is the safety net
 * for a dead socket) and no reconnect: a connection that fails is dropped.
 */
export async function createBlockingClient(main: RedisClient): Promise<RedisClient> {
  const blocking = { lazyConnect: true, enableAutoPipelining: false, connectionName: 'workflow-router-wait' };
  let client: RedisClient;
  if (main instanceof Cluster) {
    client = main.duplicate([], {
      ...blocking,
      enableOfflineQueue: true,
      clusterRetryStrategy: () => null,
      redisOptions: { ...main.options.redisOptions, commandTimeout: undefined, blockingTimeout: 5000 },
    });
  } else {
    client = main.duplicate({
      ...blocking,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      commandTimeout: undefined,
      blockingTimeout: 5000,
    });
  }
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw error;
  }
  return client;
}

/**
 * A connection for the invalidation channel. Standalone and Sentinel: a duplicate that
 * reconnects forever (Sentinel-aware). Cluster: a plain connection to one node, since
 * PUBLISH reaches subscribers on every node; it gives up after a few attempts so the
 * subscriber can move to another node.
 */
export function createSubscriberClient(main: RedisClient, node: RedisAddress | undefined): Redis {
  const subscriber = {
    autoResubscribe: false,
    enableAutoPipelining: false,
    connectionName: 'workflow-router-sub',
  };
  if (main instanceof Cluster) {
    if (!node) throw new Error('no cluster node to subscribe on');
    const target = node;
    return new Redis({
      ...main.options.redisOptions,
      ...subscriber,
      host: target.host,
      port: target.port,
      enableOfflineQueue: true,
      commandTimeout: undefined,
      retryStrategy: (times: number) => (times > 3 ? null : reconnectDelay(times)),
    });
  }
  return main.duplicate({ ...subscriber, enableOfflineQueue: true, commandTimeout: undefined });
}

/** The cluster's masters now, for the subscriber to move to when its node goes away. */
export function clusterMasters(main: RedisClient): RedisAddress[] {
  if (!(main instanceof Cluster)) return [];
  return main
    .nodes('master')
    .map((node) => ({ host: node.options.host ?? '127.0.0.1', port: node.options.port ?? 6379 }));
}

const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|BUSY|NOREPLICAS|MOVED|ASK)\b/;
const UNAVAILABLE_MESSAGE =
  /Connection is closed|enableOfflineQueue|Command timed out|Cluster isn't ready|startup nodes|slots cache|Cluster redirections|Stream isn't writeable|Socket closed|socket hang up|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND/;
const UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);

/** Whether a failed Redis call means "Redis is unreachable" rather than a bug or bad data. */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ReplyError') return UNAVAILABLE_REPLY.test(error.message);
  return UNAVAILABLE_NAMES.has(error.name) || UNAVAILABLE_MESSAGE.test(error.message);
}
