import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { Counter } from 'prom-client';
import { tooManyRequests } from '../../core/errors.ts';
import type { WorkflowKey } from '../../core/ids.ts';
import { isStoreUnavailable } from '../../core/store/errors.ts';
import { MemoryQuotas } from '../../core/store/memory/quotas.ts';
import type { CallGrant, MessageGrant, QuotaStore } from '../../core/store/quota-store.ts';
import type { StateStore } from '../../core/store/state-store.ts';
import type { Logger } from '../logger.ts';
import type { RouterMetrics } from '../metrics.ts';
import type { TenantLimits } from '../safety-config.ts';
import type { Keyring } from './api-keys.ts';
import { callerOf } from './auth.ts';

/** A call's concurrency slot lives this long unless renewed: a crashed replica's slots free themselves. */
export const LEASE_MS = 60_000;
const RENEW_EVERY_MS = LEASE_MS / 3;

const noop = (): void => undefined;

/**
 * Per-tenant limits (issue 10): calls per second, calls in flight, live workflows and queued
 * messages, enforced fleet-wide through the state store (Redis: one script per check). A
 * tenant's limits are its entry in the keys file over the `--tenant-*` defaults; 0 is
 * unlimited and costs nothing. Over a limit the caller gets 429 with Retry-After in OpenAI's
 * error shape. While Redis is unreachable the call limits are kept per replica (a tenant may
 * then get up to replicas x its limit) instead of failing calls.
 */
export class TenantLimiter {
  private readonly store: StateStore;
  private readonly keyring: Keyring;
  private readonly logger: Logger;
  private readonly local = new MemoryQuotas();
  /** Leases this replica holds in the shared store, by tenant, renewed every RENEW_EVERY_MS. */
  private readonly leases = new Map<string, Set<string>>();
  private readonly replica = randomUUID().slice(0, 8);
  private readonly refusals: Counter<'limit'>;
  private readonly renewer: NodeJS.Timeout;
  private sequence = 0;
  /** The `--tenant-*` defaults; an admin may change them at run time (PATCH /v1/admin/config). */
  defaults: TenantLimits;

  constructor(
    store: StateStore,
    keyring: Keyring,
    defaults: TenantLimits,
    metrics: RouterMetrics,
    logger: Logger,
  ) {
    this.store = store;
    this.keyring = keyring;
    this.defaults = { ...defaults };
    this.logger = logger;
    this.refusals = new Counter({
      name: 'workflow_router_tenant_limited_total',
      help: 'Requests refused (429) by a per-tenant limit: calls_per_second, concurrent_calls, workflows, queued_messages',
      labelNames: ['limit'] as const,
      registers: [metrics.registry],
    });
    this.renewer = setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.renewer.unref();
  }

  limits(tenant: string): TenantLimits {
    return this.keyring.limitsFor(tenant, this.defaults);
  }

  /** Express middleware for the LLM calls: admits the call or answers 429; the slot is freed when the response ends. */
  callGate() {
    return (req: Request, res: Response, next: NextFunction): void => {
      this.admitCall(callerOf(req).tenant).then((release) => {
        res.once('close', release);
        next();
      }, next);
    };
  }

  /** Admits one call of `tenant`; resolves with the function that frees its slot, or throws 429. */
  async admitCall(tenant: string): Promise<() => void> {
    const limits = this.limits(tenant);
    if (limits.callsPerSecond === 0 && limits.maxConcurrentCalls === 0) return noop;
    const lease = `${this.replica}:${(this.sequence += 1)}`;
    const callLimits = {
      callsPerSecond: limits.callsPerSecond,
      maxConcurrent: limits.maxConcurrentCalls,
      leaseMs: LEASE_MS,
    };
    let quotas: QuotaStore = this.store.quotas;
    let grant: CallGrant;
    try {
      grant = await quotas.acquireCall(tenant, lease, Date.now(), callLimits);
    } catch (error) {
      if (!isStoreUnavailable(error)) throw error;
      quotas = this.local;
      grant = await quotas.acquireCall(tenant, lease, Date.now(), callLimits);
    }
    if (!grant.ok) {
      const rate = grant.reason === 'rate';
      this.refusals.inc({ limit: rate ? 'calls_per_second' : 'concurrent_calls' });
      throw tooManyRequests(
        rate
          ? `tenant "${tenant}" is over its limit of ${limits.callsPerSecond} calls per second`
          : `tenant "${tenant}" has ${limits.maxConcurrentCalls} calls in flight, its limit`,
        Math.max(1, Math.ceil(grant.retryAfterMs / 1000)),
        rate ? 'tenant_rate_limited' : 'tenant_concurrency_limited',
      );
    }
    if (limits.maxConcurrentCalls === 0) return noop;
    const shared = quotas === this.store.quotas;
    if (shared) this.track(tenant, lease);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (shared) this.untrack(tenant, lease);
      quotas.releaseCall(tenant, lease).catch(() => undefined);
    };
  }

  /**
   * After a workflow was created: over its tenant's limit it is removed again and the caller
   * gets 429. Creation races at the limit may refuse one more than needed, never admit one more.
   */
  async checkNewWorkflow(key: WorkflowKey): Promise<void> {
    const max = this.limits(key.tenant).maxWorkflows;
    if (max === 0) return;
    let live: number;
    try {
      live = await this.store.workflows.countLive(key.tenant);
    } catch (error) {
      if (isStoreUnavailable(error)) return;
      throw error;
    }
    if (live <= max) return;
    await this.store.workflows.delete(key).catch(() => undefined);
    this.refusals.inc({ limit: 'workflows' });
    throw tooManyRequests(
      `tenant "${key.tenant}" has ${max} live workflows, its limit; delete some or let them expire`,
      10,
      'tenant_workflow_limit',
    );
  }

  /**
   * Counts one message to `agent` against the tenant's queued-messages limit until it expires;
   * returns the reservation to release if the message is not stored after all, or throws 429.
   */
  async reserveMessage(key: WorkflowKey, agent: string, ttlSeconds: number): Promise<string | undefined> {
    const max = this.limits(key.tenant).maxQueuedMessages;
    if (max === 0) return undefined;
    const member = `${key.id}/${agent}/${this.replica}:${(this.sequence += 1)}`;
    const now = Date.now();
    const grant: MessageGrant = await this.store.quotas.reserveMessage(
      key.tenant,
      member,
      now + ttlSeconds * 1000,
      now,
      max,
    );
    if (!grant.ok) {
      this.refusals.inc({ limit: 'queued_messages' });
      throw tooManyRequests(
        `tenant "${key.tenant}" has ${grant.queued} unexpired messages queued, its limit; nothing was stored`,
        1,
        'tenant_message_limit',
      );
    }
    return member;
  }

  /**
   * Counts a batch's messages (one per recipient and ttl) against the tenant's queued-messages
   * limit, all or none; returns the reservations to release if the batch is not stored after
   * all, or throws 429.
   */
  async reserveMessages(
    key: WorkflowKey,
    messages: readonly { to: string; ttlSeconds: number }[],
  ): Promise<string[]> {
    const max = this.limits(key.tenant).maxQueuedMessages;
    if (max === 0) return [];
    const now = Date.now();
    const reservations = messages.map((m) => ({
      member: `${key.id}/${m.to}/${this.replica}:${(this.sequence += 1)}`,
      expiresAt: now + m.ttlSeconds * 1000,
    }));
    const grant = await this.store.quotas.reserveMessages(key.tenant, reservations, now, max);
    if (!grant.ok) {
      this.refusals.inc({ limit: 'queued_messages' });
      throw tooManyRequests(
        `tenant "${key.tenant}" has ${grant.queued} unexpired messages queued and its limit is ${max}: no room for the ${messages.length} of this batch; nothing was stored`,
        1,
        'tenant_message_limit',
      );
    }
    return reservations.map((r) => r.member);
  }

  async releaseMessages(key: WorkflowKey, members: readonly string[]): Promise<void> {
    if (members.length === 0) return;
    await this.store.quotas.releaseMessages(key.tenant, members).catch(() => undefined);
  }

  async releaseMessage(key: WorkflowKey, member: string | undefined): Promise<void> {
    if (member === undefined) return;
    await this.store.quotas.releaseMessage(key.tenant, member).catch(() => undefined);
  }

  /** A workflow deleted through the API: its queued messages no longer count. */
  async forgetWorkflow(key: WorkflowKey): Promise<void> {
    if (this.limits(key.tenant).maxQueuedMessages === 0) return;
    await this.store.quotas.forgetWorkflow(key.tenant, key.id).catch(() => undefined);
  }

  private track(tenant: string, lease: string): void {
    let set = this.leases.get(tenant);
    if (!set) {
      set = new Set();
      this.leases.set(tenant, set);
    }
    set.add(lease);
  }

  private untrack(tenant: string, lease: string): void {
    const set = this.leases.get(tenant);
    set?.delete(lease);
    if (set?.size === 0) this.leases.delete(tenant);
  }

  /** Streams outlive a lease: every running call's slot is extended before it lapses. */
  private async renew(): Promise<void> {
    const now = Date.now();
    for (const [tenant, set] of this.leases) {
      try {
        await this.store.quotas.renewCalls(tenant, [...set], now, LEASE_MS);
      } catch (error) {
        this.logger.debug('tenant call leases not renewed', { tenant, error: String(error) });
      }
    }
  }

  close(): void {
    clearInterval(this.renewer);
  }
}
