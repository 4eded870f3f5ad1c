import type { WorkflowKey } from '../../ids.ts';
import type { ContextEntry } from '../records.ts';
import type { ContextStore } from '../state-store.ts';
import { encodeContextEntry, parseContextEntry } from './record-codec.ts';
import type { RedisContext } from './redis-context.ts';
import { asArray, asNumber, luaNumber } from './reply.ts';

/** A workflow's shared context: a list of JSON entries; its token total lives on the record. */
export class RedisContexts implements ContextStore {
  private readonly ctx: RedisContext;

  constructor(ctx: RedisContext) {
    this.ctx = ctx;
  }

  append(
    key: WorkflowKey,
    entry: ContextEntry,
    budgetTokens: number,
  ): Promise<{ appended: boolean; totalTokens: number }> {
    return this.ctx.run(async () => {
      const [appended, total] = asArray(
        await this.ctx.script(
          'appendContext',
          [this.ctx.keys.record(key), this.ctx.keys.context(key)],
          [encodeContextEntry(entry), luaNumber(entry.tokens), luaNumber(budgetTokens)],
        ),
        'appendContext',
      );
      return { appended: asNumber(appended, 'appended') === 1, totalTokens: asNumber(total, 'totalTokens') };
    });
  }

  read(key: WorkflowKey): Promise<ContextEntry[]> {
    return this.ctx.run(async () =>
      (await this.ctx.client.lrange(this.ctx.keys.context(key), 0, -1)).map(parseContextEntry),
    );
  }
}
