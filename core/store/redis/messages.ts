import type { WorkflowKey } from '../../ids.ts';
import type { AgentMessage } from '../records.ts';
import type {
  AddressedMessage,
  BatchSendResult,
  InboxFollower,
  MessageStore,
  NewMessage,
  SendResult,
} from '../state-store.ts';
import type { BlockingPool } from './blocking-pool.ts';
import { RedisInboxFollower } from './inbox-follower.ts';
import { encodePayload, messageOf } from './record-codec.ts';
import type { RedisContext } from './redis-context.ts';
import { asArray, asNumber, asString, luaNumber } from './reply.ts';

/** Stream entries read-messages.lua may scan per call before handing back a cursor. */
const SCAN_BUDGET = 1000;

interface Page {
  exists: boolean;
  messages: AgentMessage[];
  /** The last stream id scanned: a blocking read continues after it. */
  cursor: string | undefined;
}

const CANCELLED = Symbol('cancelled');

/** send-messages.lua's reply as a BatchSendResult. */
function batchResult(reply: unknown[], messages: readonly AddressedMessage[]): BatchSendResult {
  const status = asNumber(reply[0], 'status');
  if (status === 0) return { ok: false, reason: 'workflow-not-found' };
  if (status === 2) {
    const index = asNumber(reply[1], 'index') - 1;
    return {
      ok: false,
      reason: 'inbox-full',
      index,
      to: messages[index]?.to ?? '',
      depth: asNumber(reply[2], 'depth'),
    };
  }
  return { ok: true, ids: reply.slice(1).map((id) => asString(id, 'id')) };
}

/**
 * Agent inboxes as Redis streams (DESIGN section 7): one stream per inbox, so every replica
 * sees every message and nothing is lost across router restarts. Message ids are the stream
 * ids, which compare with core/message-id.ts. Long polls block on a dedicated connection.
 */
export class RedisMessages implements MessageStore {
  private readonly ctx: RedisContext;
  private readonly pool: BlockingPool;

  constructor(ctx: RedisContext, pool: BlockingPool) {
    this.ctx = ctx;
    this.pool = pool;
  }

  send(
    key: WorkflowKey,
    to: string,
    message: NewMessage,
    now: number,
    maxQueue: number,
  ): Promise<SendResult> {
    return this.ctx.run(async () => {
      const k = this.ctx.keys;
      const [ok, value] = asArray(
        await this.ctx.script(
          'sendMessage',
          [k.record(key), k.inboxes(key), k.inbox(key, to), k.inboxExpiry(key, to)],
          [
            to,
            message.from,
            encodePayload(message.payload),
            luaNumber(now),
            luaNumber(now + message.ttlSeconds * 1000),
            luaNumber(maxQueue),
          ],
        ),
        'sendMessage',
      );
      return asNumber(ok, 'ok') === 1
        ? { ok: true, id: asString(value, 'id') }
        : { ok: false, depth: asNumber(value, 'depth') };
    });
  }

  sendBatch(
    key: WorkflowKey,
    messages: readonly AddressedMessage[],
    now: number,
    maxQueue: number,
  ): Promise<BatchSendResult> {
    return this.ctx.run(async () => {
      const k = this.ctx.keys;
      const recipients = [...new Set(messages.map((m) => m.to))];
      const number = new Map(recipients.map((to, i) => [to, String(i + 1)]));
      const reply = asArray(
        await this.ctx.script(
          'sendMessages',
          [k.record(key), k.inboxes(key)],
          [
            k.inboxPrefix(key),
            k.inboxExpiryPrefix(key),
            luaNumber(now),
            luaNumber(maxQueue),
            String(recipients.length),
            ...recipients,
            ...messages.flatMap((m) => [
              number.get(m.to) ?? '',
              m.from,
              encodePayload(m.payload),
              luaNumber(now + m.ttlSeconds * 1000),
            ]),
          ],
        ),
        'sendMessages',
      );
      return batchResult(reply, messages);
    });
  }

  read(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    now: number,
  ): Promise<AgentMessage[]> {
    return this.ctx.run(async () => (await this.page(key, agent, after, limit, now)).messages);
  }

  /** Reads up to `limit` unexpired messages after `after`, continuing past runs of expired ones. */
  private async page(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    now: number,
  ): Promise<Page> {
    const k = this.ctx.keys;
    const messages: AgentMessage[] = [];
    let cursor = after;
    if (limit <= 0) return { exists: true, messages, cursor };
    for (;;) {
      const reply = asArray(
        await this.ctx.script(
          'readMessages',
          [k.record(key), k.inboxes(key), k.inbox(key, agent)],
          [agent, cursor ?? '', String(limit - messages.length), luaNumber(now), String(SCAN_BUDGET)],
        ),
        'readMessages',
      );
      if (asNumber(reply[0], 'exists') !== 1) return { exists: false, messages, cursor };
      const scanned = asString(reply[1], 'cursor');
      if (scanned !== '') cursor = scanned;
      for (const entry of asArray(reply[3], 'messages')) {
        const [id, from, payload, createdAt, expiresAt] = asArray(entry, 'message').map((v) =>
          asString(v, 'field'),
        );
        messages.push(
          messageOf(agent, id ?? '', from ?? '', payload ?? '', createdAt ?? '0', expiresAt ?? '0'),
        );
      }
      const done = asNumber(reply[2], 'done') === 1;
      if (done || messages.length >= limit) return { exists: true, messages, cursor };
    }
  }

  wait(
    key: WorkflowKey,
    agent: string,
    after: string | undefined,
    limit: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<AgentMessage[]> {
    return this.ctx.run(async () => {
      const deadline = Date.now() + timeoutMs;
      // One wake-up for the whole call, registered before the first read: a delete (here or
      // on another replica) or an abort that lands between the read and the blocking read
      // is never missed.
      let wakeups = 0;
      let interrupt: () => void = () => undefined;
      const wake = (): void => {
        wakeups += 1;
        interrupt();
      };
      const stopWaking = this.ctx.wakers.add(this.ctx.keys.member(key), wake);
      signal.addEventListener('abort', wake, { once: true });
      try {
        let cursor = after;
        for (;;) {
          const seen = wakeups;
          const cancelled = new Promise<typeof CANCELLED>((resolve) => {
            interrupt = () => resolve(CANCELLED);
          });
          const page = await this.page(key, agent, cursor, limit, Date.now());
          const remaining = deadline - Date.now();
          if (
            !page.exists ||
            page.messages.length > 0 ||
            remaining <= 0 ||
            signal.aborted ||
            this.ctx.closed
          ) {
            return page.messages;
          }
          cursor = page.cursor;
          if (wakeups !== seen) continue;
          const arrived = await this.block(key, agent, cursor, limit, remaining, cancelled);
          if (arrived.length > 0 || this.ctx.closed) return arrived;
        }
      } catch (error) {
        if (this.ctx.closed) return [];
        throw error;
      } finally {
        interrupt = () => undefined;
        stopWaking();
        signal.removeEventListener('abort', wake);
      }
    });
  }

  /**
   * Blocks on the inbox stream after `cursor` until an entry arrives, the time is up or
   * `cancelled` resolves (abort, workflow removed, store closed). Returns the unexpired
   * messages that arrived, possibly none: the caller reads again and decides.
   */
  private async block(
    key: WorkflowKey,
    agent: string,
    cursor: string | undefined,
    limit: number,
    timeoutMs: number,
    cancelled: Promise<typeof CANCELLED>,
  ): Promise<AgentMessage[]> {
    const acquiring = this.pool.acquire();
    const acquired = await Promise.race([acquiring, cancelled]);
    if (acquired === CANCELLED) {
      acquiring.then(
        (client) => this.pool.release(client),
        () => undefined,
      );
      return [];
    }
    const client = acquired;
    const read = client.xread(
      'COUNT',
      limit,
      'BLOCK',
      Math.max(1, Math.ceil(timeoutMs)),
      'STREAMS',
      this.ctx.keys.inbox(key, agent),
      cursor ?? '0-0',
    );
    let result: Awaited<typeof read> | typeof CANCELLED;
    try {
      result = await Promise.race([read, cancelled]);
    } catch (error) {
      this.pool.discard(client);
      throw error;
    }
    if (result === CANCELLED) {
      // Dropping the connection ends the blocked XREAD at once.
      read.catch(() => undefined);
      this.pool.discard(client);
      return [];
    }
    this.pool.release(client);
    const now = Date.now();
    const messages: AgentMessage[] = [];
    for (const [, entries] of result ?? []) {
      for (const [id, fields] of entries) {
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] ?? '', fields[i + 1] ?? '');
        const message = messageOf(
          agent,
          id,
          f.get('from') ?? '',
          f.get('payload') ?? '',
          f.get('createdAt') ?? '0',
          f.get('expiresAt') ?? '0',
        );
        if (message.expiresAt > now) messages.push(message);
      }
    }
    return messages;
  }

  follow(key: WorkflowKey, agent: string, after: string | undefined, signal: AbortSignal): InboxFollower {
    return new RedisInboxFollower(this.ctx, this.pool, key, agent, after, signal, (cursor, limit) =>
      this.page(key, agent, cursor, limit, Date.now()),
    );
  }

  depth(key: WorkflowKey, agent: string, now: number): Promise<number> {
    return this.ctx.run(async () => {
      const k = this.ctx.keys;
      return asNumber(
        await this.ctx.script(
          'inboxDepth',
          [k.record(key), k.inboxes(key), k.inboxExpiry(key, agent)],
          [agent, luaNumber(now)],
        ),
        'depth',
      );
    });
  }

  inboxes(key: WorkflowKey): Promise<string[]> {
    return this.ctx.run(() => this.ctx.client.smembers(this.ctx.keys.inboxes(key)));
  }

  acknowledge(key: WorkflowKey, agent: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.ctx.run(async () =>
      asNumber(
        await this.ctx.script('markDelivered', [this.ctx.keys.record(key)], [agent, ...ids]),
        'delivered',
      ),
    );
  }
}
