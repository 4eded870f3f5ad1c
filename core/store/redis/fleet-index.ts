import type { RedisContext } from './redis-context.ts';
import { asArray, asString, luaNumber } from './reply.ts';

/** What a workflow's script read, to be mirrored into the fleet indexes. */
export interface IndexEntry {
  lastActiveAt: string;
  expiresAt: number;
  /** The pin's version and pod ('' = not pinned); omitted when the script did not read them. */
  pin?: { seq: string; pod: string };
}

/**
 * The fleet-wide indexes: live workflows by last activity (LRU eviction for
 * --max-workflows), by expiry (the TTL sweep), pins per pod (countsByPod), and the evicted
 * and expired counters. They live in one slot of their own (hash tag `{fleet}`), which in
 * Redis Cluster is not the slot of any workflow, and a script may only touch keys of one
 * slot. So every change that involves both is two single-slot steps: the workflow's script
 * (atomic, the truth), then an index script. Without a cross-slot transaction they stay
 * consistent by these rules, which hold in standalone mode too (one code path):
 *
 * 1. The workflow's slot is the truth; an index entry is only a hint, re-checked by the
 *    workflow script that acts on it: eviction re-checks "no call in flight" and the
 *    activity it was chosen for, expiry re-checks the ttl, and an entry whose record is gone
 *    is simply dropped.
 * 2. Index writes are idempotent and tolerate any order between replicas: activity only
 *    grows (ZADD GT); expiry keeps a lower bound (ZADD LT), so a stale entry only makes the
 *    sweep look early; a pin carries a version (pinSeq, from the server clock in the
 *    workflow's script) and an older version never overwrites a newer one.
 * 3. A new workflow is indexed before its record is created (and again after, with what
 *    the script read); a removed one is unindexed after its record is removed. A replica
 *    dying between the steps leaves an entry without a record, which the sweep or the
 *    evictor drops, never a record that no sweep can find.
 * 4. Evicted and expired are counted by the replica whose script removed the record, so a
 *    removal counts once however many replicas race for it.
 * 5. The sweep reconciles: each entry that comes due is re-read from its record and its
 *    activity, exact expiry and pin are rewritten, so any drift heals within one ttl.
 */
export class FleetIndex {
  private readonly ctx: RedisContext;

  constructor(ctx: RedisContext) {
    this.ctx = ctx;
  }

  private get keys(): string[] {
    const k = this.ctx.keys;
    return [k.activity, k.expiry, k.pins, k.pinSeqs, k.pinCounts, k.tenantLive];
  }

  /** Adds or refreshes a workflow's entries ('exact': expiry read by the sweep, else a lower bound). */
  async upsert(member: string, entry: IndexEntry, mode: 'lower' | 'exact' = 'lower'): Promise<void> {
    await this.ctx.script('indexUpsert', this.keys, [
      member,
      entry.lastActiveAt,
      luaNumber(entry.expiresAt),
      mode,
      entry.pin?.seq ?? '',
      entry.pin?.pod ?? '',
    ]);
  }

  /** Raises the activity of indexed workflows (one ZADD for a whole apply batch). */
  async touch(entries: readonly (readonly [member: string, lastActiveAt: string])[]): Promise<void> {
    if (entries.length === 0) return;
    const scoreMembers = entries.flatMap(([member, at]) => [at, member]);
    await this.ctx.client.zadd(this.ctx.keys.activity, 'XX', 'GT', ...scoreMembers);
  }

  /** Drops a workflow; `counter` names the stat to count it under when this replica removed it. */
  async remove(member: string, counter: 'evicted' | 'expired' | '' = ''): Promise<void> {
    await this.ctx.script('indexRemove', [...this.keys, this.ctx.keys.stats], [member, counter]);
  }

  /** Live workflows of one tenant, as the activity index counts them (kept in the same scripts). */
  async tenantLive(tenant: string): Promise<number> {
    return Number((await this.ctx.client.hget(this.ctx.keys.tenantLive, tenant)) ?? 0);
  }

  /** The least recently active workflow not in `skip`, while more than `max` are live. */
  async evictionCandidate(
    max: number,
    skip: Iterable<string>,
  ): Promise<{ member: string; lastActiveAt: string } | undefined> {
    const reply = await this.ctx.script(
      'evictionCandidate',
      [this.ctx.keys.activity],
      [String(max), ...skip],
    );
    if (reply === null) return undefined;
    const [member, lastActiveAt] = asArray(reply, 'evictionCandidate');
    return { member: asString(member, 'candidate'), lastActiveAt: asString(lastActiveAt, 'candidate score') };
  }

  /** Workflows whose expiry lower bound has passed. */
  dueForExpiry(now: number, limit: number): Promise<string[]> {
    return this.ctx.client.zrangebyscore(this.ctx.keys.expiry, '-inf', luaNumber(now), 'LIMIT', 0, limit);
  }

  members(): Promise<string[]> {
    return this.ctx.client.zrange(this.ctx.keys.activity, 0, -1);
  }

  async pinCounts(): Promise<Record<string, number>> {
    const raw = await this.ctx.client.hgetall(this.ctx.keys.pinCounts);
    const counts: Record<string, number> = {};
    for (const [pod, count] of Object.entries(raw)) if (Number(count) > 0) counts[pod] = Number(count);
    return counts;
  }

  async removals(): Promise<{ evicted: number; expired: number }> {
    const [evicted, expired] = await this.ctx.client.hmget(this.ctx.keys.stats, 'evicted', 'expired');
    return { evicted: Number(evicted ?? 0), expired: Number(expired ?? 0) };
  }
}
