import {
  gcra,
  type CallGrant,
  type CallLimits,
  type MessageGrant,
  type MessageReservation,
  type QuotaStore,
} from '../quota-store.ts';

interface TenantQuota {
  tat: number | undefined;
  /** lease -> expiresAt */
  leases: Map<string, number>;
  /** reservation -> expiresAt */
  messages: Map<string, number>;
}

function prune(entries: Map<string, number>, now: number): void {
  for (const [member, expiresAt] of entries) if (expiresAt <= now) entries.delete(member);
}

/** Tenant quotas of one process (the in-memory store, and a replica's fallback while Redis is away). */
export class MemoryQuotas implements QuotaStore {
  private readonly tenants = new Map<string, TenantQuota>();

  private of(tenant: string): TenantQuota {
    let quota = this.tenants.get(tenant);
    if (!quota) {
      quota = { tat: undefined, leases: new Map(), messages: new Map() };
      this.tenants.set(tenant, quota);
    }
    return quota;
  }

  acquireCall(tenant: string, lease: string, now: number, limits: CallLimits): Promise<CallGrant> {
    const quota = this.of(tenant);
    prune(quota.leases, now);
    if (limits.maxConcurrent > 0 && quota.leases.size >= limits.maxConcurrent) {
      return Promise.resolve({ ok: false, reason: 'concurrency', retryAfterMs: 1000 });
    }
    if (limits.callsPerSecond > 0) {
      const rate = gcra(quota.tat, now, limits.callsPerSecond);
      if (!rate.ok) return Promise.resolve({ ok: false, reason: 'rate', retryAfterMs: rate.retryAfterMs });
      quota.tat = rate.tat;
    }
    if (limits.maxConcurrent > 0) quota.leases.set(lease, now + limits.leaseMs);
    return Promise.resolve({ ok: true });
  }

  renewCalls(tenant: string, leases: readonly string[], now: number, leaseMs: number): Promise<void> {
    const quota = this.of(tenant);
    for (const lease of leases) quota.leases.set(lease, now + leaseMs);
    return Promise.resolve();
  }

  releaseCall(tenant: string, lease: string): Promise<void> {
    this.tenants.get(tenant)?.leases.delete(lease);
    return Promise.resolve();
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
    const quota = this.of(tenant);
    prune(quota.messages, now);
    const queued = quota.messages.size;
    if (queued + reservations.length > max) return Promise.resolve({ ok: false, queued });
    for (const r of reservations) quota.messages.set(r.member, r.expiresAt);
    return Promise.resolve({ ok: true });
  }

  releaseMessage(tenant: string, member: string): Promise<void> {
    return this.releaseMessages(tenant, [member]);
  }

  releaseMessages(tenant: string, members: readonly string[]): Promise<void> {
    const messages = this.tenants.get(tenant)?.messages;
    for (const member of members) messages?.delete(member);
    return Promise.resolve();
  }

  forgetWorkflow(tenant: string, workflowId: string): Promise<void> {
    const messages = this.tenants.get(tenant)?.messages;
    if (messages)
      for (const member of messages.keys()) if (member.startsWith(`${workflowId}/`)) messages.delete(member);
    return Promise.resolve();
  }
}
