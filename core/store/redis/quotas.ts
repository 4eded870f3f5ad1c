import type { CallGrant, CallLimits, MessageGrant, MessageReservation, QuotaStore } from '../quota-store.ts';
import type { RedisContext } from './redis-context.ts';
import { asArray, asNumber, asString, luaNumber } from './reply.ts';

/** Tenant quotas in Redis: one slot per tenant (`{tenant:<name>}`), each check one script. */
export class RedisQuotas implements QuotaStore {
  private readonly ctx: RedisContext;

  constructor(ctx: RedisContext) {
    this.ctx = ctx;
  }

  acquireCall(tenant: string, lease: string, now: number, limits: CallLimits): Promise<CallGrant> {
    return this.ctx.run(async () => {
      const k = this.ctx.keys;
      const reply = asArray(
        await this.ctx.script(
          'tenantAcquireCall',
          [k.tenantRate(tenant), k.tenantCalls(tenant)],
          [
            luaNumber(now),
            luaNumber(limits.callsPerSecond),
            luaNumber(limits.maxConcurrent),
            luaNumber(limits.leaseMs),
            lease,
          ],
        ),
        'tenantAcquireCall',
      );
      if (asNumber(reply[0], 'admitted') === 1) return { ok: true };
      const reason = asString(reply[1], 'reason') === 'rate' ? 'rate' : 'concurrency';
      return { ok: false, reason, retryAfterMs: asNumber(reply[2], 'retryAfterMs') };
    });
  }

  renewCalls(tenant: string, leases: readonly string[], now: number, leaseMs: number): Promise<void> {
    if (leases.length === 0) return Promise.resolve();
    return this.ctx.run(async () => {
      const key = this.ctx.keys.tenantCalls(tenant);
      const expiresAt = luaNumber(now + leaseMs);
      await this.ctx.client
        .multi()
        .zadd(key, ...leases.flatMap((lease) => [expiresAt, lease]))
        .pexpire(key, leaseMs * 2)
        .exec();
    });
  }

  releaseCall(tenant: string, lease: string): Promise<void> {
    return this.ctx.run(async () => {
      await this.ctx.client.zrem(this.ctx.keys.tenantCalls(tenant), lease);
    });
  }

  reserveMessage(
    tenant: string,
    member: string,
    expiresAt: number,
    now: number,
    max: number,
  ): Promise<MessageGrant> {
    return this.reserveMessages(tenant, [{ member, expiresAt }], now, max);
  }

  reserveMessages(
    tenant: string,
    reservations: readonly MessageReservation[],
    now: number,
    max: number,
  ): Promise<MessageGrant> {
    return this.ctx.run(async () => {
      const reply = asArray(
        await this.ctx.script(
          'tenantReserveMessage',
          [this.ctx.keys.tenantMessages(tenant)],
          [
            luaNumber(now),
            luaNumber(max),
            ...reservations.flatMap((r) => [luaNumber(r.expiresAt), r.member]),
          ],
        ),
        'tenantReserveMessage',
      );
      return asNumber(reply[0], 'reserved') === 1
        ? { ok: true }
        : { ok: false, queued: asNumber(reply[1], 'queued') };
    });
  }

  releaseMessage(tenant: string, member: string): Promise<void> {
    return this.releaseMessages(tenant, [member]);
  }

  releaseMessages(tenant: string, members: readonly string[]): Promise<void> {
    if (members.length === 0) return Promise.resolve();
    return this.ctx.run(async () => {
      await this.ctx.client.zrem(this.ctx.keys.tenantMessages(tenant), ...members);
    });
  }

  forgetWorkflow(tenant: string, workflowId: string): Promise<void> {
    return this.ctx.run(async () => {
      const key = this.ctx.keys.tenantMessages(tenant);
      let cursor = '0';
      do {
        const [next, flat] = await this.ctx.client.zscan(
          key,
          cursor,
          'MATCH',
          `${workflowId}/*`,
          'COUNT',
          500,
        );
        const members = flat.filter((_, i) => i % 2 === 0);
        if (members.length > 0) await this.ctx.client.zrem(key, ...members);
        cursor = next;
      } while (cursor !== '0');
    });
  }
}
