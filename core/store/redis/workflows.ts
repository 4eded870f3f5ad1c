import type { WorkflowKey } from '../../ids.ts';
import type { WorkflowSpec } from '../../workflow-spec.ts';
import { isStoreUnavailable } from '../errors.ts';
import { emptyTotals, type WorkflowEvent, type WorkflowRecord, type WorkflowTotals } from '../records.ts';
import type { EnsureResult, WorkflowInit, WorkflowStore } from '../state-store.ts';
import type { StatsBatch } from '../stats-batch.ts';
import { touch } from '../workflow-record.ts';
import type { FleetIndex, IndexEntry } from './fleet-index.ts';
import { encodeBatchPart, parseRecord, TOTALS_FIELDS } from './record-codec.ts';
import type { RedisContext } from './redis-context.ts';
import { asArray, asNumber, asString, luaNumber, pairs } from './reply.ts';
import { plainCopy } from '../plain-copy.ts';

type Removal =
  | { status: 'missing' | 'busy' }
  | { status: 'stale'; lastActiveAt: string }
  | { status: 'alive'; entry: IndexEntry }
  | { status: 'removed'; pod: string };

/** Workflows expired per sweep step; the sweep repeats until none is due. */
const SWEEP_BATCH = 256;
/** Bounds one eviction or sweep, in case the index keeps changing under it. */
const MAX_STEPS = 10_000;

interface BatchPart {
  key: WorkflowKey;
  events: WorkflowEvent[];
  calls: number | undefined;
}

/** Splits a batch by workflow: each part is one script on the workflow's slot. */
function partsOf(batch: StatsBatch, member: (key: WorkflowKey) => string): Map<string, BatchPart> {
  const parts = new Map<string, BatchPart>();
  const part = (key: WorkflowKey): BatchPart => {
    const id = member(key);
    const found = parts.get(id) ?? { key, events: [], calls: undefined };
    parts.set(id, found);
    return found;
  };
  for (const event of batch.events) part(event.key).events.push(event);
  for (const share of batch.inflight) part(share.key).calls = share.calls;
  return parts;
}

/** A copy of a cached record touched by `now`, as ensure() answers from the near-cache. */
function touched(record: WorkflowRecord, now: number): WorkflowRecord {
  const copy = plainCopy(record);
  touch(copy, now);
  return copy;
}

function indexEntryOf(record: WorkflowRecord, pinSeq: string | undefined): IndexEntry {
  return {
    lastActiveAt: luaNumber(record.lastActiveAt),
    expiresAt: record.expiresAt,
    ...(pinSeq !== undefined ? { pin: { seq: pinSeq, pod: record.pinnedPod ?? '' } } : {}),
  };
}

export class RedisWorkflows implements WorkflowStore {
  private readonly ctx: RedisContext;
  private readonly index: FleetIndex;

  constructor(ctx: RedisContext, index: FleetIndex) {
    this.ctx = ctx;
    this.index = index;
  }

  declare(
    key: WorkflowKey,
    spec: WorkflowSpec,
    init: WorkflowInit,
    now: number,
    maxWorkflows: number,
  ): Promise<EnsureResult> {
    return this.ctx.run(() => this.upsert(key, init, now, maxWorkflows, spec));
  }

  /** A known workflow is answered from the near-cache: no Redis round trip (activity rides on apply). */
  async ensure(
    key: WorkflowKey,
    init: WorkflowInit,
    now: number,
    maxWorkflows: number,
  ): Promise<EnsureResult> {
    const member = this.ctx.keys.member(key);
    const cached = this.ctx.cache.get(member);
    if (cached) return { record: touched(cached, now), created: false, evicted: [] };
    try {
      return await this.ctx.run(() => this.upsert(key, init, now, maxWorkflows, undefined));
    } catch (error) {
      const stale = isStoreUnavailable(error) ? this.ctx.cache.fallback(member) : undefined;
      if (stale) return { record: touched(stale, now), created: false, evicted: [] };
      throw error;
    }
  }

  private async upsert(
    key: WorkflowKey,
    init: WorkflowInit,
    now: number,
    maxWorkflows: number,
    spec: WorkflowSpec | undefined,
  ): Promise<EnsureResult> {
    const member = this.ctx.keys.member(key);
    const ticket = this.ctx.cache.ticket();
    const declaration = spec
      ? [
          JSON.stringify(spec),
          spec.contextSharing,
          luaNumber(spec.priority),
          luaNumber(spec.ttlSeconds ?? init.ttlSeconds),
        ]
      : ['', '', '', ''];
    // Index first (rule 3 in fleet-index.ts); both go out in the same pipeline tick.
    const [, reply] = await Promise.all([
      this.index.upsert(member, { lastActiveAt: luaNumber(now), expiresAt: now + init.ttlSeconds * 1000 }),
      this.ctx.script(
        'upsertWorkflow',
        [this.ctx.keys.record(key)],
        [
          luaNumber(now),
          init.strategy,
          luaNumber(init.priority),
          luaNumber(init.ttlSeconds),
          ...declaration,
          ...this.ctx.invalidation('declare', key),
        ],
      ),
    ]);
    const [createdFlag, fieldList] = asArray(reply, 'upsertWorkflow');
    const fields = pairs(fieldList, 'upsertWorkflow');
    const record = parseRecord(key, fields);
    if (!record) throw new Error(`workflow ${member} vanished while being created`);
    const created = asNumber(createdFlag, 'created') === 1;
    await this.ctx.followUp(this.index.upsert(member, indexEntryOf(record, fields.get('pinSeq'))));
    this.ctx.cache.put(member, plainCopy(record), ticket);
    const evicted = created ? await this.evict(maxWorkflows, member) : [];
    return { record, created, evicted };
  }

  /** Evicts least recently active idle workflows while more than `max` are live (not `self`). */
  private async evict(max: number, self: string): Promise<WorkflowKey[]> {
    const evicted: WorkflowKey[] = [];
    if (!Number.isFinite(max)) return evicted;
    const skip = new Set([self]);
    for (let step = 0; step < MAX_STEPS; step++) {
      const candidate = await this.index.evictionCandidate(max, skip);
      if (!candidate) break;
      const key = this.ctx.keys.parseMember(candidate.member);
      const removal = await this.remove(key, 'evict', candidate.lastActiveAt);
      switch (removal.status) {
        case 'removed':
          await this.index.remove(candidate.member, 'evicted');
          this.ctx.forget(candidate.member);
          evicted.push(key);
          break;
        case 'busy':
          skip.add(candidate.member);
          break;
        case 'stale':
          await this.index.touch([[candidate.member, removal.lastActiveAt]]);
          break;
        case 'missing':
          await this.index.remove(candidate.member);
          this.ctx.forget(candidate.member);
          break;
        case 'alive':
          break;
      }
    }
    return evicted;
  }

  /** Runs remove-workflow.lua: removes the workflow if `mode`'s condition holds. */
  private async remove(
    key: WorkflowKey,
    mode: 'delete' | 'evict' | 'expire',
    bound: string,
  ): Promise<Removal> {
    const k = this.ctx.keys;
    const reply = asArray(
      await this.ctx.script(
        'removeWorkflow',
        [k.record(key), k.context(key), k.inboxes(key)],
        [mode, bound, k.inboxPrefix(key), k.inboxExpiryPrefix(key), ...this.ctx.invalidation('delete', key)],
      ),
      'removeWorkflow',
    );
    const status = asString(reply[0], 'removal status');
    switch (status) {
      case 'missing':
      case 'busy':
        return { status };
      case 'stale':
        return { status, lastActiveAt: asString(reply[1], 'lastActiveAt') };
      case 'alive': {
        const lastActiveAt = asString(reply[1], 'lastActiveAt');
        const ttlSeconds = asNumber(reply[2], 'ttlSeconds');
        return {
          status,
          entry: {
            lastActiveAt,
            expiresAt: Number(lastActiveAt) + ttlSeconds * 1000,
            pin: { seq: asString(reply[3], 'pinSeq'), pod: asString(reply[4], 'pod') },
          },
        };
      }
      case 'removed':
        return { status, pod: asString(reply[1], 'pod') };
      default:
        throw new Error(`unexpected removal status ${status}`);
    }
  }

  get(key: WorkflowKey): Promise<WorkflowRecord | undefined> {
    return this.ctx.run(() => this.fetch(key));
  }

  /** Reads a record from Redis and refreshes the near-cache with it. */
  async fetch(key: WorkflowKey): Promise<WorkflowRecord | undefined> {
    const member = this.ctx.keys.member(key);
    const ticket = this.ctx.cache.ticket();
    const record = parseRecord(
      key,
      new Map(Object.entries(await this.ctx.client.hgetall(this.ctx.keys.record(key)))),
    );
    if (record) this.ctx.cache.put(member, plainCopy(record), ticket);
    else this.ctx.cache.invalidate(member);
    return record;
  }

  list(tenant?: string): Promise<WorkflowRecord[]> {
    return this.ctx.run(async () => {
      const keys = await this.liveKeys(tenant);
      const hashes = await Promise.all(keys.map((key) => this.ctx.client.hgetall(this.ctx.keys.record(key))));
      const records: WorkflowRecord[] = [];
      keys.forEach((key, i) => {
        const record = parseRecord(key, new Map(Object.entries(hashes[i] ?? {})));
        if (record) records.push(record);
      });
      return records.sort((a, b) => a.createdAt - b.createdAt);
    });
  }

  private async liveKeys(tenant: string | undefined): Promise<WorkflowKey[]> {
    const members = await this.index.members();
    return members
      .map((member) => this.ctx.keys.parseMember(member))
      .filter((key) => tenant === undefined || key.tenant === tenant);
  }

  /**
   * One script per workflow in the batch, all sent in one pipeline; then one ZADD for activity.
   * If some scripts fail (a node unreachable), the caller re-sends the whole batch: the parts
   * that were applied skip it (apply-events.lua).
   */
  apply(batch: StatsBatch): Promise<void> {
    if (batch.events.length === 0 && batch.inflight.length === 0) return Promise.resolve();
    return this.ctx.run(async () => {
      const parts = [...partsOf(batch, (key) => this.ctx.keys.member(key)).entries()];
      const replies = await Promise.all(
        parts.map(([, part]) =>
          this.ctx.script(
            'applyEvents',
            [this.ctx.keys.record(part.key)],
            encodeBatchPart(batch.writer, batch.seq, part.calls, batch.leaseMs, part.events),
          ),
        ),
      );
      const touches: [string, string][] = [];
      replies.forEach((reply, i) => {
        const [exists, lastActiveAt] = asArray(reply, 'applyEvents');
        const member = parts[i]?.[0];
        if (member === undefined || asNumber(exists, 'exists') !== 1) return;
        const last = asString(lastActiveAt, 'lastActiveAt');
        touches.push([member, last]);
        this.ctx.cache.touch(member, (record) => touch(record, Number(last)));
      });
      await this.ctx.followUp(this.index.touch(touches));
    });
  }

  delete(key: WorkflowKey): Promise<boolean> {
    return this.ctx.run(async () => {
      const member = this.ctx.keys.member(key);
      const removal = await this.remove(key, 'delete', '0');
      await this.ctx.followUp(this.index.remove(member));
      this.ctx.forget(member);
      return removal.status === 'removed';
    });
  }

  expire(now: number): Promise<WorkflowKey[]> {
    return this.ctx.run(async () => {
      const expired: WorkflowKey[] = [];
      for (let step = 0; step < MAX_STEPS; step++) {
        const due = await this.index.dueForExpiry(now, SWEEP_BATCH);
        if (due.length === 0) break;
        await Promise.all(
          due.map(async (member) => {
            const key = this.ctx.keys.parseMember(member);
            const removal = await this.remove(key, 'expire', luaNumber(now));
            if (removal.status === 'removed') {
              await this.index.remove(member, 'expired');
              this.ctx.forget(member);
              expired.push(key);
            } else if (removal.status === 'alive') {
              await this.index.upsert(member, removal.entry, 'exact');
            } else {
              await this.index.remove(member);
              this.ctx.forget(member);
            }
          }),
        );
      }
      return expired;
    });
  }

  countLive(tenant: string): Promise<number> {
    return this.ctx.run(() => this.index.tenantLive(tenant));
  }

  totals(tenant?: string): Promise<WorkflowTotals> {
    return this.ctx.run(async () => {
      const keys = await this.liveKeys(tenant);
      const [rows, removals] = await Promise.all([
        Promise.all(keys.map((key) => this.ctx.client.hmget(this.ctx.keys.record(key), ...TOTALS_FIELDS))),
        this.index.removals(),
      ]);
      const totals = emptyTotals();
      totals.evicted = removals.evicted;
      totals.expired = removals.expired;
      for (const row of rows) {
        const [createdAt, calls, prompt, cached, completion, migrations, spills, sent, delivered, refused] =
          row.map((v) => (v === null ? undefined : Number(v)));
        if (createdAt === undefined) continue;
        totals.live += 1;
        totals.calls += calls ?? 0;
        totals.promptTokens += prompt ?? 0;
        totals.cachedTokens += cached ?? 0;
        totals.completionTokens += completion ?? 0;
        totals.migrations += migrations ?? 0;
        totals.spills += spills ?? 0;
        totals.messages.sent += sent ?? 0;
        totals.messages.delivered += delivered ?? 0;
        totals.messages.refused += refused ?? 0;
      }
      return totals;
    });
  }
}
