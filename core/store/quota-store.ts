/** The calls/s and concurrency limits of one tenant, as the quota store enforces them. */
export interface CallLimits {
  /** Sustained calls per second, with a burst of one second's worth; 0: unlimited. */
  callsPerSecond: number;
  /** Calls in flight at once, fleet-wide; 0: unlimited. */
  maxConcurrent: number;
  /** How long a call's slot is held unless renewed (a crashed replica's slots free themselves). */
  leaseMs: number;
}

export type CallGrant = { ok: true } | { ok: false; reason: 'rate' | 'concurrency'; retryAfterMs: number };

export type MessageGrant = { ok: true } | { ok: false; queued: number };

/** One message counted against a tenant's queued-messages limit until it expires. */
export interface MessageReservation {
  /** Starts with `<workflow id>/`, so a deleted workflow's reservations can be forgotten. */
  member: string;
  expiresAt: number;
}

/**
 * Per-tenant quotas shared by the router fleet (issue 10): calls per second (GCRA), calls in
 * flight (leases that expire unless renewed), and queued messages (reservations that expire
 * with their message). In-memory for one process; in Redis, one key set per tenant in one
 * Cluster slot, each check one script.
 */
export interface QuotaStore {
  /** Admits one call under both limits (neither is consumed when either refuses). */
  acquireCall(tenant: string, lease: string, now: number, limits: CallLimits): Promise<CallGrant>;
  /** Extends the leases of calls still running on this replica. */
  renewCalls(tenant: string, leases: readonly string[], now: number, leaseMs: number): Promise<void>;
  releaseCall(tenant: string, lease: string): Promise<void>;
  /**
   * Counts one message against the tenant's queued-messages limit until `expiresAt`. `member`
   * starts with `<workflow id>/` so a deleted workflow's reservations can be forgotten.
   */
  reserveMessage(
    tenant: string,
    member: string,
    expiresAt: number,
    now: number,
    max: number,
  ): Promise<MessageGrant>;
  /** Counts a batch's messages: all of them when the quota has room for all, else none. */
  reserveMessages(
    tenant: string,
    reservations: readonly MessageReservation[],
    now: number,
    max: number,
  ): Promise<MessageGrant>;
  releaseMessage(tenant: string, member: string): Promise<void>;
  releaseMessages(tenant: string, members: readonly string[]): Promise<void>;
  /** Drops the message reservations of one workflow (deleted through the API). */
  forgetWorkflow(tenant: string, workflowId: string): Promise<void>;
}

/** GCRA (the generic cell rate algorithm): the theoretical arrival time after admitting one more call. */
export function gcra(
  tat: number | undefined,
  now: number,
  callsPerSecond: number,
): { ok: true; tat: number } | { ok: false; retryAfterMs: number } {
  const interval = 1000 / callsPerSecond;
  const burst = Math.max(1, callsPerSecond);
  const start = Math.max(tat ?? now, now);
  const next = start + interval;
  const allowAt = next - interval * burst;
  if (now < allowAt) return { ok: false, retryAfterMs: allowAt - now };
  return { ok: true, tat: next };
}
