import type { Redis } from 'ioredis';
import type { RedisAddress } from './connection.ts';

/** What changed: a pin, a declaration, or the workflow is gone (deleted, evicted, expired). */
export type InvalidationOp = 'pin' | 'declare' | 'delete';

export interface Invalidation {
  replica: string;
  op: InvalidationOp;
  member: string;
}

/** `<replica> <op> <tenant>/<id>`: ids never contain spaces. Published by the Lua scripts. */
export function invalidationMessage(replica: string, op: InvalidationOp, member: string): string {
  return `${replica} ${op} ${member}`;
}

export function parseInvalidation(message: string): Invalidation | undefined {
  const [replica, op, member] = message.split(' ');
  if (replica === undefined || member === undefined) return undefined;
  if (op !== 'pin' && op !== 'declare' && op !== 'delete') return undefined;
  return { replica, op, member };
}

export interface SubscriberOptions {
  channel: string;
  /** Opens a subscriber connection (to `node` in Cluster mode). */
  connect(node: RedisAddress | undefined): Redis;
  /** Cluster mode: the node to move to when the current one is gone for good. */
  nextNode(): RedisAddress | undefined;
  onMessage(invalidation: Invalidation): void;
  /** Subscribed (true) or not (false): the near-cache serves hits only while subscribed. */
  onLive(live: boolean): void;
}

/**
 * Keeps one connection subscribed to the invalidation channel: re-subscribes after every
 * reconnect (and reports live only once the subscription is confirmed), and in Cluster mode
 * moves to another node when its node stops answering.
 */
export class InvalidationSubscriber {
  private readonly options: SubscriberOptions;
  private connection: Redis | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private firstLive: (() => void) | undefined;
  /** Resolves once the first subscription is confirmed. */
  readonly subscribed: Promise<void>;

  constructor(options: SubscriberOptions) {
    this.options = options;
    this.subscribed = new Promise((resolve) => {
      this.firstLive = resolve;
    });
    this.open(options.nextNode());
  }

  private open(node: RedisAddress | undefined): void {
    const connection = this.options.connect(node);
    this.connection = connection;
    connection.on('error', () => undefined);
    connection.on('ready', () => void this.subscribe(connection));
    connection.on('close', () => {
      if (this.connection === connection) this.options.onLive(false);
    });
    connection.on('end', () => {
      if (this.closed || this.connection !== connection) return;
      this.retry = setTimeout(() => this.open(this.options.nextNode()), 200);
    });
    connection.on('message', (channel: string, message: string) => {
      if (channel !== this.options.channel) return;
      const invalidation = parseInvalidation(message);
      if (invalidation) this.options.onMessage(invalidation);
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
    this.options.onLive(true);
    this.firstLive?.();
    this.firstLive = undefined;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.connection?.disconnect();
    this.options.onLive(false);
  }
}
