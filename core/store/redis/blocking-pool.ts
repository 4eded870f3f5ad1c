import type { RedisClient } from './connection.ts';

/**
 * Dedicated connections for blocking reads (STYLE: blocking reads use a dedicated
 * connection): one per waiting reader, idle ones kept for reuse up to `maxIdle`. A read
 * that is cancelled (abort, workflow deleted) discards its connection, which ends the
 * blocked command at once without waiting for the server's timeout.
 */
export class BlockingPool {
  private readonly idle: RedisClient[] = [];
  private readonly busy = new Set<RedisClient>();
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
    return client;
  }

  release(client: RedisClient): void {
    this.busy.delete(client);
    if (!this.closed && client.status === 'ready' && this.idle.length < this.maxIdle) this.idle.push(client);
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
