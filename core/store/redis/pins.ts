import type { WorkflowKey } from '../../ids.ts';
import { isStoreUnavailable } from '../errors.ts';
import type { PinStore } from '../state-store.ts';
import type { FleetIndex } from './fleet-index.ts';
import type { RedisContext } from './redis-context.ts';
import { asArray, asNumber, asString } from './reply.ts';
import type { RedisWorkflows } from './workflows.ts';

/**
 * Pins are the `pod` field of the workflow's record, so deleting a workflow always drops its
 * pin and a known workflow's pin is in the near-cache with its record.
 */
export class RedisPins implements PinStore {
  private readonly ctx: RedisContext;
  private readonly index: FleetIndex;
  private readonly workflows: RedisWorkflows;

  constructor(ctx: RedisContext, index: FleetIndex, workflows: RedisWorkflows) {
    this.ctx = ctx;
    this.index = index;
    this.workflows = workflows;
  }

  /** From the near-cache when the workflow is known: no Redis round trip. */
  async get(key: WorkflowKey): Promise<string | undefined> {
    const member = this.ctx.keys.member(key);
    const cached = this.ctx.cache.get(member);
    if (cached) return cached.pinnedPod;
    try {
      return (await this.ctx.run(() => this.workflows.fetch(key)))?.pinnedPod;
    } catch (error) {
      const stale = isStoreUnavailable(error) ? this.ctx.cache.fallback(member) : undefined;
      if (stale) return stale.pinnedPod;
      throw error;
    }
  }

  claim(key: WorkflowKey, pod: string): Promise<{ pod: string; won: boolean }> {
    return this.ctx.run(async () => {
      const member = this.ctx.keys.member(key);
      const ticket = this.ctx.cache.ticket();
      const reply = asArray(
        await this.ctx.script(
          'claimPin',
          [this.ctx.keys.record(key)],
          [pod, ...this.ctx.invalidation('pin', key)],
        ),
        'claimPin',
      );
      const won = asNumber(reply[0], 'won') === 1;
      const current = asString(reply[1], 'pod');
      if (won) await this.ctx.followUp(this.index.upsert(member, pinEntry(reply)));
      if (current === '') {
        this.ctx.cache.invalidate(member);
        return { pod, won: false };
      }
      this.ctx.cache.update(member, ticket, (record) => {
        record.pinnedPod = current;
      });
      return { pod: current, won };
    });
  }

  move(key: WorkflowKey, from: string, to: string): Promise<{ pod: string | undefined; moved: boolean }> {
    return this.ctx.run(async () => {
      const member = this.ctx.keys.member(key);
      const ticket = this.ctx.cache.ticket();
      const reply = asArray(
        await this.ctx.script(
          'movePin',
          [this.ctx.keys.record(key)],
          [from, to, ...this.ctx.invalidation('pin', key)],
        ),
        'movePin',
      );
      const moved = asNumber(reply[0], 'moved') === 1;
      const current = asString(reply[1], 'pod');
      if (moved) await this.ctx.followUp(this.index.upsert(member, pinEntry(reply)));
      this.ctx.cache.update(member, ticket, (record) => {
        record.pinnedPod = current === '' ? undefined : current;
      });
      return { pod: current === '' ? undefined : current, moved };
    });
  }

  countsByPod(): Promise<Record<string, number>> {
    return this.ctx.run(() => this.index.pinCounts());
  }
}

/** The index entry of a won claim or a move: {1, pod, pinSeq, lastActiveAt, ttlSeconds}. */
function pinEntry(reply: unknown[]): {
  lastActiveAt: string;
  expiresAt: number;
  pin: { seq: string; pod: string };
} {
  const lastActiveAt = asString(reply[3], 'lastActiveAt');
  return {
    lastActiveAt,
    expiresAt: Number(lastActiveAt) + asNumber(reply[4], 'ttlSeconds') * 1000,
    pin: { seq: asString(reply[2], 'pinSeq'), pod: asString(reply[1], 'pod') },
  };
}
