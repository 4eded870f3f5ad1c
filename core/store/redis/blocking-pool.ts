import type { RedisClient } from './connection.ts';

/** How long the pool remembers its peak of readers waiting at once. */
const PEAK_WINDOW_MS = 60_000;

/**
 * Dedicated connections for blocking reads (STYLE: blocking reads use a dedicated
 * connection): one per waiting reader, idle ones kept for reuse: up to `maxIdle`, or as many as
 * the readers that waited at once in the last minute and are between two reads now. (An inbox
 * stream reads again as soon as it has written what it got: with a fixed small cap, a hundred
 * streams would open and close a connection for nearly every message.) A read that is cancelled
 * (abort, workflow deleted) discards its connection, which ends the blocked command at once
 * without waiting for the server's timeout.
 */
export class BlockingPool {
  private readonly idle: RedisClient[] = [];
  private readonly busy = new Set<RedisClient>();
  private peak = 0;
  private peakSince = Date.now();
  private readonly create: () => Promise<RedisClient>;
  private readonly maxIdle: number;
  private closed = false;

  constructor(create: () => Promise<RedisClient>, maxIdle: number) {
    this.create = create;
    this.maxIdle = maxIdle;
  }

  async acquire(): Promise<RedisClient> {
    let client = this.idle.pop();
    while (client && client.status !== 'ready') {
      client.disconnect();
      client = this.idle.pop();
    }
    client ??= await this.create();
    if (this.closed) {
      client.disconnect();
      throw new Error('Connection is closed.');
    }
    this.busy.add(client);
    this.peak = Math.max(this.peak, this.busy.size);
    return client;
  }

  release(client: RedisClient): void {
    this.busy.delete(client);
    const now = Date.now();
    if (now - this.peakSince > PEAK_WINDOW_MS) {
      this.peak = this.busy.size;
      this.peakSince = now;
    }
    const keep = Math.max(this.maxIdle, this.peak - this.busy.size);
    if (!this.closed && client.status === 'ready' && this.idle.length < keep) this.idle.push(client);
    else client.disconnect();
  }

  discard(client: RedisClient): void {
    this.busy.delete(client);
    client.disconnect();
  }

  close(): void {
    this.closed = true;
    for (const client of [...this.idle, ...this.busy]) client.disconnect();
    this.idle.length = 0;
    this.busy.clear();
  }
}
