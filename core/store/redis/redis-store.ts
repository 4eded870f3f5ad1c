import { randomUUID } from 'node:crypto';
import { RedisKeys } from '../../redis-keys.ts';
import { StoreUnavailableError } from '../errors.ts';
import type { StateStore, StoreHealth } from '../state-store.ts';
import { BlockingPool } from './blocking-pool.ts';
import {
  clusterMasters,
  createBlockingClient,
  createClient,
  createSubscriberClient,
  type ConnectionOptions,
  type RedisClient,
} from './connection.ts';
import { RedisContexts } from './contexts.ts';
import { FleetIndex } from './fleet-index.ts';
import { InvalidationSubscriber } from './invalidations.ts';
import { RedisMessages } from './messages.ts';
import { NearCache } from './near-cache.ts';
import { RedisPins } from './pins.ts';
import { RedisQuotas } from './quotas.ts';
import { RedisContext } from './redis-context.ts';
import { defineScripts } from './scripts.ts';
import { RedisWorkflows } from './workflows.ts';

export interface RedisStoreOptions extends ConnectionOptions {
  /** Prefix of every key and channel (--redis-prefix; default 'wr:'). */
  prefix?: string;
  /** How long createRedisStore waits for the first connection (default 10000). */
  connectTimeoutMs?: number;
  /** Workflow records kept in the near-cache (default 100000). */
  nearCacheSize?: number;
  /** Idle blocking-read connections kept for reuse (default 4). */
  maxIdleWaitConnections?: number;
}

const STATUS_EVENTS = ['ready', 'connect', 'close', 'end', 'reconnecting'] as const;

/** The fleet's shared state in Redis (standalone, Sentinel or Cluster). */
export class RedisStore implements StateStore {
  readonly kind = 'redis';
  readonly keys: RedisKeys;
  readonly pins: RedisPins;
  readonly workflows: RedisWorkflows;
  readonly contexts: RedisContexts;
  readonly messages: RedisMessages;
  readonly quotas: RedisQuotas;
  private readonly client: RedisClient;
  private readonly ctx: RedisContext;
  private readonly pool: BlockingPool;
  private readonly subscriber: InvalidationSubscriber;
  private readonly listeners = new Set<(health: StoreHealth) => void>();
  private current: StoreHealth;

  /** Use createRedisStore, which also waits for the first connection. */
  constructor(options: RedisStoreOptions = {}) {
    this.keys = new RedisKeys(options.prefix ?? 'wr:');
    this.client = createClient(options);
    defineScripts(this.client);
    this.client.on('error', () => undefined);
    const cache = new NearCache(options.nearCacheSize ?? 100_000);
    this.ctx = new RedisContext(this.client, this.keys, cache, randomUUID());
    const index = new FleetIndex(this.ctx);
    this.workflows = new RedisWorkflows(this.ctx, index);
    this.pins = new RedisPins(this.ctx, index, this.workflows);
    this.contexts = new RedisContexts(this.ctx);
    const main = this.client;
    this.pool = new BlockingPool(() => createBlockingClient(main), options.maxIdleWaitConnections ?? 4);
    this.messages = new RedisMessages(this.ctx, this.pool);
    this.quotas = new RedisQuotas(this.ctx);
    this.current = this.client.status === 'ready' ? 'ok' : 'degraded';
    for (const event of STATUS_EVENTS) this.client.on(event, () => this.updateHealth());
    let masters = [...(options.clusterNodes ?? [])];
    this.subscriber = new InvalidationSubscriber({
      channel: this.keys.invalidations,
      connect: (node) => createSubscriberClient(main, node),
      nextNode: () => {
        const known = clusterMasters(main);
        if (known.length > 0) masters = known;
        const next = masters.shift();
        if (next) masters.push(next);
        return next;
      },
      onMessage: (invalidation) => {
        if (invalidation.replica === this.ctx.replica) return;
        if (invalidation.op === 'delete') this.ctx.forget(invalidation.member);
        else cache.invalidate(invalidation.member);
      },
      onLive: (live) => cache.setLive(live),
    });
  }

  /** Resolves once Redis answers and invalidations flow; rejects after `timeoutMs`. */
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

  /** 'degraded' while the connection to Redis is down (pins and known workflows answer from the near-cache). */
  health(): StoreHealth {
    return this.current;
  }

  /** Calls `listener` on every change of health(); returns the unsubscribe function. */
  onHealthChange(listener: (health: StoreHealth) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Failed store operations since start (for the Redis errors metric). */
  errors(): number {
    return this.ctx.errors();
  }

  private updateHealth(): void {
    const next: StoreHealth = this.client.status === 'ready' && !this.ctx.closed ? 'ok' : 'degraded';
    if (next === this.current) return;
    this.current = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  async close(): Promise<void> {
    if (this.ctx.closed) return;
    this.ctx.closed = true;
    this.ctx.wakers.wakeAll();
    this.subscriber.close();
    this.pool.close();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
    this.updateHealth();
  }
}

/** Connects a Redis store; rejects with StoreUnavailableError when Redis does not answer in time. */
export async function createRedisStore(options: RedisStoreOptions = {}): Promise<RedisStore> {
  const store = new RedisStore(options);
  try {
    await store.ready(options.connectTimeoutMs ?? 10_000);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
