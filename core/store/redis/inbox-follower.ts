import type { WorkflowKey } from '../../ids.ts';
import type { AgentMessage } from '../records.ts';
import type { InboxFollower } from '../state-store.ts';
import type { BlockingPool } from './blocking-pool.ts';
import type { RedisClient } from './connection.ts';
import { messageOf } from './record-codec.ts';
import type { RedisContext } from './redis-context.ts';

/** The first read: read-messages.lua (existence, expired runs skipped, the inbox registered). */
export type FirstPage = (
  after: string | undefined,
  limit: number,
) => Promise<{ exists: boolean; messages: AgentMessage[]; cursor: string | undefined }>;

const CANCELLED = Symbol('cancelled');

type XReadReply = [string, [string, string[]][]][] | null;

/**
 * A reader that stays on one inbox (an SSE stream). The first next() reads with the script, as a
 * long poll does; every later one continues XREAD BLOCK from the last entry seen, on a
 * connection it keeps between reads: one command per wake-up, no script, no connection churn.
 * A workflow removed (here or on another replica, through pub/sub) or the signal aborting
 * interrupts the blocked read, dropping its connection, and next() answers [] so the reader
 * checks whether the workflow is still there.
 */
export class RedisInboxFollower implements InboxFollower {
  private readonly ctx: RedisContext;
  private readonly pool: BlockingPool;
  private readonly firstPage: FirstPage;
  private readonly stream: string;
  private readonly agent: string;
  private readonly signal: AbortSignal;
  private readonly stopWaking: () => void;
  private cursor: string | undefined;
  /** Read with the script next: first, and after a wake-up (is the workflow still there?). */
  private needsPage = true;
  /** Set by a wake-up that came while no read was blocked: the next read answers [] at once. */
  private woken = false;
  private interrupt: () => void = () => undefined;
  private client: RedisClient | undefined;
  /** An XREAD is outstanding on `client`: it must be dropped, not handed back to the pool. */
  private reading = false;
  private closed = false;

  constructor(
    ctx: RedisContext,
    pool: BlockingPool,
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    signal: AbortSignal,
    firstPage: FirstPage,
  ) {
    this.ctx = ctx;
    this.pool = pool;
    this.firstPage = firstPage;
    this.stream = ctx.keys.inbox(key, agent);
    this.agent = agent;
    this.cursor = after;
    this.signal = signal;
    // Registered before the first read: a removal or abort that lands between two reads is never missed.
    this.stopWaking = ctx.wakers.add(ctx.keys.member(key), this.wake);
    signal.addEventListener('abort', this.wake, { once: true });
  }

  private readonly wake = (): void => {
    this.woken = true;
    this.interrupt();
  };

  next(limit: number, timeoutMs: number): Promise<AgentMessage[]> {
    return this.ctx.run(async () => {
      try {
        if (this.closed) return [];
        if (this.needsPage) {
          this.woken = false;
          const page = await this.firstPage(this.cursor, limit);
          this.cursor = page.cursor;
          // A workflow that is gone is checked again by every later read, as wait() does.
          this.needsPage = !page.exists;
          if (page.messages.length > 0 || !page.exists) return page.messages;
        }
        if (this.signal.aborted || this.ctx.closed) return [];
        if (this.woken) {
          this.woken = false;
          this.needsPage = true;
          return [];
        }
        return await this.block(limit, timeoutMs);
      } catch (error) {
        if (this.ctx.closed) return [];
        throw error;
      }
    });
  }

  /** XREAD BLOCK from the cursor until entries arrive, the time is up or a wake-up interrupts. */
  private async block(limit: number, timeoutMs: number): Promise<AgentMessage[]> {
    const cancelled = new Promise<typeof CANCELLED>((resolve) => {
      this.interrupt = () => resolve(CANCELLED);
    });
    try {
      const client = await this.connection(cancelled);
      if (client === CANCELLED) {
        this.woken = false;
        this.needsPage = true;
        return [];
      }
      this.reading = true;
      const read = client.xread(
        'COUNT',
        limit,
        'BLOCK',
        Math.max(1, Math.ceil(timeoutMs)),
        'STREAMS',
        this.stream,
        this.cursor ?? '0-0',
      ) as Promise<XReadReply>;
      let result: XReadReply | typeof CANCELLED;
      try {
        result = await Promise.race([read, cancelled]);
      } catch (error) {
        this.drop();
        throw error;
      } finally {
        this.reading = false;
      }
      if (result === CANCELLED) {
        // Dropping the connection ends the blocked XREAD at once.
        read.catch(() => undefined);
        this.drop();
        this.woken = false;
        this.needsPage = true;
        return [];
      }
      // A wake-up that lost the race to the entries stays set: the next read answers [] at once.
      return this.unexpired(result);
    } finally {
      this.interrupt = () => undefined;
    }
  }

  /** The kept connection, or a new one from the pool (unless a wake-up comes first). */
  private async connection(cancelled: Promise<typeof CANCELLED>): Promise<RedisClient | typeof CANCELLED> {
    if (this.client?.status === 'ready') return this.client;
    if (this.client) this.drop();
    const acquiring = this.pool.acquire();
    const acquired = await Promise.race([acquiring, cancelled]);
    if (acquired === CANCELLED) {
      acquiring.then(
        (client) => this.pool.release(client),
        () => undefined,
      );
      return CANCELLED;
    }
    this.client = acquired;
    return acquired;
  }

  /** The entries read, the cursor moved past all of them, the expired ones left out. */
  private unexpired(result: XReadReply): AgentMessage[] {
    const now = Date.now();
    const messages: AgentMessage[] = [];
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        this.cursor = id;
        let from = '';
        let payload = '';
        let createdAt = '0';
        let expiresAt = '0';
        for (let i = 0; i + 1 < fields.length; i += 2) {
          const value = fields[i + 1] ?? '';
          switch (fields[i]) {
            case 'from':
              from = value;
              break;
            case 'payload':
              payload = value;
              break;
            case 'createdAt':
              createdAt = value;
              break;
            case 'expiresAt':
              expiresAt = value;
              break;
          }
        }
        const message = messageOf(this.agent, id, from, payload, createdAt, expiresAt);
        if (message.expiresAt > now) messages.push(message);
      }
    }
    return messages;
  }

  private drop(): void {
    if (this.client) this.pool.discard(this.client);
    this.client = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWaking();
    this.signal.removeEventListener('abort', this.wake);
    // A blocked read (or a connection being acquired) is dropped when interrupted; a kept
    // connection with no read on it goes back to the pool.
    const reading = this.reading;
    this.interrupt();
    if (!reading && this.client) {
      this.pool.release(this.client);
      this.client = undefined;
    }
  }
}
