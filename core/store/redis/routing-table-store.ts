import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { RedisKeys } from '../../redis-keys.ts';
import {
  routingPoolId,
  routingPoolSchema,
  type RoutingPool,
  type RoutingTable,
  type RoutingTableChange,
  type RoutingTableStore,
  type RoutingTableUpdate,
} from '../../routing-table.ts';
import { StoreUnavailableError } from '../errors.ts';
import {
  clusterMasters,
  createClient,
  createSubscriberClient,
  isConnectionError,
  type ConnectionOptions,
  type RedisAddress,
  type RedisClient,
} from './connection.ts';
import { asArray, asNumber, pairs } from './reply.ts';

export interface RedisRoutingTableOptions extends ConnectionOptions {
  /** Prefix of every key and channel (--redis-prefix; default 'wr:'). */
  prefix?: string;
  /** How long createRedisRoutingTable waits for the first connection (default 10000). */
  connectTimeoutMs?: number;
}

const SCRIPTS = {
  updateRoutingTable: 'update-routing-table.lua',
  readRoutingTable: 'read-routing-table.lua',
} as const;
type ScriptName = keyof typeof SCRIPTS;

const SOURCES = new Map<ScriptName, string>(
  (Object.keys(SCRIPTS) as ScriptName[]).map((name) => [
    name,
    readFileSync(new URL(`./scripts/${SCRIPTS[name]}`, import.meta.url), 'utf8'),
  ]),
);

/**
 * The routing table in Redis: one hash of pool entries (JSON) and a version, both under the
 * hash tag `{routing}` so each change is one Lua script even on Redis Cluster; every new
 * version is announced on `<prefix>routing`.
 */
export class RedisRoutingTable implements RoutingTableStore {
  readonly keys: RedisKeys;
  private readonly client: RedisClient;
  private readonly subscriber: ChannelSubscriber;
  private readonly listeners = new Set<(version: number | undefined) => void>();
  private closed = false;

  /** Use createRedisRoutingTable, which also waits for the first connection. */
  constructor(options: RedisRoutingTableOptions = {}) {
    this.keys = new RedisKeys(options.prefix ?? 'wr:');
    this.client = createClient(options);
    this.client.on('error', () => undefined);
    for (const [name, lua] of SOURCES) this.client.defineCommand(name, { numberOfKeys: 2, lua });
    const main = this.client;
    let masters = [...(options.clusterNodes ?? [])];
    this.subscriber = new ChannelSubscriber({
      channel: this.keys.routingChannel,
      connect: (node) => createSubscriberClient(main, node),
      nextNode: () => {
        const known = clusterMasters(main);
        if (known.length > 0) masters = known;
        const next = masters.shift();
        if (next) masters.push(next);
        return next;
      },
      onMessage: (message) => {
        const version = Number(message);
        if (Number.isInteger(version)) this.emit(version);
      },
      onSubscribed: () => this.emit(undefined),
    });
  }

  /** Resolves once Redis answers and announcements flow; rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    const connected = new Promise<void>((resolve) => {
      if (this.client.status === 'ready') resolve();
      else this.client.once('ready', () => resolve());
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`Redis not reachable within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all([connected, this.subscriber.subscribed]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async read(): Promise<RoutingTable> {
    const reply = asArray(await this.run('readRoutingTable', []), 'readRoutingTable');
    const pools: RoutingPool[] = [];
    for (const [, json] of pairs(reply[2], 'routing pools')) {
      const parsed = routingPoolSchema.safeParse(JSON.parse(json));
      // An entry written by a newer operator with an incompatible shape is skipped, not fatal.
      if (parsed.success) pools.push(parsed.data);
    }
    pools.sort((a, b) => routingPoolId(a).localeCompare(routingPoolId(b)));
    return {
      version: asNumber(reply[0], 'routing version'),
      updatedAt: asNumber(reply[1], 'routing updatedAt'),
      pools,
    };
  }

  async update(change: RoutingTableChange, now: number): Promise<RoutingTableUpdate> {
    const put = change.put ?? [];
    const args = [
      String(now),
      this.keys.routingChannel,
      String(put.length),
      ...put.flatMap((pool) => [routingPoolId(pool), JSON.stringify(pool)]),
      ...(change.remove ?? []),
    ];
    const [version, changed] = asArray(await this.run('updateRoutingTable', args), 'updateRoutingTable');
    return { version: asNumber(version, 'routing version'), changed: asNumber(changed, 'changed') === 1 };
  }

  subscribe(listener: (version: number | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(version: number | undefined): void {
    for (const listener of [...this.listeners]) listener(version);
  }

  private async run(name: ScriptName, args: string[]): Promise<unknown> {
    if (this.closed) throw new StoreUnavailableError('routing table store closed');
    const fn = (this.client as unknown as Record<ScriptName, (...a: string[]) => Promise<unknown>>)[name];
    try {
      return await fn.apply(this.client, [this.keys.routingPools, this.keys.routingMeta, ...args]);
    } catch (error) {
      if (isConnectionError(error)) throw new StoreUnavailableError('Redis unavailable', { cause: error });
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.subscriber.close();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** Connects the routing table; rejects with StoreUnavailableError when Redis does not answer in time. */
export async function createRedisRoutingTable(
  options: RedisRoutingTableOptions = {},
): Promise<RedisRoutingTable> {
  const table = new RedisRoutingTable(options);
  try {
    await table.ready(options.connectTimeoutMs ?? 10_000);
  } catch (error) {
    await table.close();
    throw error;
  }
  return table;
}

interface ChannelSubscriberOptions {
  channel: string;
  connect(node: RedisAddress | undefined): Redis;
  nextNode(): RedisAddress | undefined;
  onMessage(message: string): void;
  /** After every (re)subscription: announcements may have been missed meanwhile. */
  onSubscribed(): void;
}

/**
 * Keeps one connection subscribed to a channel: subscribes again after every reconnect, and
 * in Cluster mode moves to another node when its node is gone for good.
 */
class ChannelSubscriber {
  private readonly options: ChannelSubscriberOptions;
  private connection: Redis | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private first: (() => void) | undefined;
  readonly subscribed: Promise<void>;

  constructor(options: ChannelSubscriberOptions) {
    this.options = options;
    this.subscribed = new Promise((resolve) => {
      this.first = resolve;
    });
    this.open(options.nextNode());
  }

  private open(node: RedisAddress | undefined): void {
    const connection = this.options.connect(node);
    this.connection = connection;
    connection.on('error', () => undefined);
    connection.on('ready', () => void this.subscribe(connection));
    connection.on('end', () => {
      if (this.closed || this.connection !== connection) return;
      this.retry = setTimeout(() => this.open(this.options.nextNode()), 200);
    });
    connection.on('message', (channel: string, message: string) => {
      if (channel === this.options.channel) this.options.onMessage(message);
    });
  }

  private async subscribe(connection: Redis): Promise<void> {
    try {
      await connection.subscribe(this.options.channel);
    } catch {
      // The connection dropped again; its next 'ready' subscribes again.
      return;
    }
    if (this.closed || this.connection !== connection) return;
    this.first?.();
    this.first = undefined;
    this.options.onSubscribed();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.connection?.disconnect();
  }
}
