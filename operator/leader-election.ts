import { setTimeout as sleep } from 'node:timers/promises';
import { V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { apiStatus, type Kube } from './kube.ts';
import { errorMessage, type Logger } from './logger.ts';

/** The fields of a coordination.k8s.io Lease that leader election reads and writes. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date | undefined;
  renewTime: Date | undefined;
  leaseTransitions: number;
  /** Optimistic concurrency: an update with a stale resourceVersion fails. */
  resourceVersion: string | undefined;
}

/** Lease storage; `create` and `update` throw LeaseConflict when someone else wrote first. */
export interface LeaseClient {
  get(): Promise<LeaseRecord | undefined>;
  create(record: LeaseRecord): Promise<void>;
  update(record: LeaseRecord): Promise<void>;
}

export class LeaseConflict extends Error {
  constructor() {
    super('the lease changed meanwhile');
    this.name = 'LeaseConflict';
  }
}

export interface ElectorOptions {
  identity: string;
  /** How long a candidate waits, from when it saw the lease last change, before taking it over (15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps failing to renew before it gives up leading (10 s). */
  renewDeadlineMs: number;
  /** Time between attempts to acquire or renew (2 s). */
  retryPeriodMs: number;
  logger: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * Leader election on a Lease, as client-go's leaderelection package does it. A candidate
 * takes the lease when it is free, or when its holder has not renewed it for the lease
 * duration as measured on the candidate's own clock (from when the candidate last saw the
 * record change, so clock skew between replicas does not matter). The leader renews every
 * retry period and stops leading when it could not renew within the renew deadline. Every
 * write is conditional on the resourceVersion read, so two candidates never both win.
 */
export class LeaderElector {
  private readonly client: LeaseClient;
  private readonly options: ElectorOptions;
  private readonly now: () => number;
  private observed: LeaseRecord | undefined;
  private observedAt = 0;
  private leading = false;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(client: LeaseClient, options: ElectorOptions) {
    this.client = client;
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder as last seen ('' when free or never read). */
  get holder(): string {
    return this.observed?.holderIdentity ?? '';
  }

  /**
   * Campaigns until this replica leads, calls `onStartedLeading`, renews until the lease is
   * lost or stop() is called, then calls `onStoppedLeading` (only after leading). Resolves
   * when the election is over.
   */
  run(callbacks: { onStartedLeading(): void; onStoppedLeading(): void }): Promise<void> {
    this.running ??= this.campaign(callbacks);
    return this.running;
  }

  private async campaign(callbacks: { onStartedLeading(): void; onStoppedLeading(): void }): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, logger, identity } = this.options;
    while (!this.stopping.signal.aborted && !(await this.tryAcquireOrRenew())) {
      await this.pause(retryPeriodMs);
    }
    if (this.stopping.signal.aborted) return;
    this.leading = true;
    logger.info('became the leader', { identity });
    callbacks.onStartedLeading();
    let renewedAt = this.now();
    while (!this.stopping.signal.aborted) {
      await this.pause(retryPeriodMs);
      if (this.stopping.signal.aborted) break;
      // An attempt that hangs must not outlive the deadline: by then others may take over.
      const left = renewDeadlineMs - (this.now() - renewedAt);
      if (await withTimeout(this.tryAcquireOrRenew(), left)) {
        renewedAt = this.now();
      } else if (this.now() - renewedAt >= renewDeadlineMs || this.heldByOther()) {
        logger.warn('lost the lease', { identity, holder: this.holder });
        break;
      }
    }
    this.leading = false;
    callbacks.onStoppedLeading();
  }

  private heldByOther(): boolean {
    return this.holder !== '' && this.holder !== this.options.identity;
  }

  private async pause(ms: number): Promise<void> {
    // Jitter keeps candidates that started together from colliding on every attempt.
    const jittered = ms * (1 + Math.random() * 0.2);
    try {
      await sleep(jittered, undefined, { signal: this.stopping.signal });
    } catch {
      // Stopped.
    }
  }

  /** One attempt: true when this replica holds the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, leaseDurationMs, logger } = this.options;
    const now = this.now();
    const fresh = (current: LeaseRecord | undefined): LeaseRecord => {
      const mine = current?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
        acquireTime: mine && current?.acquireTime ? current.acquireTime : new Date(now),
        renewTime: new Date(now),
        leaseTransitions:
          (current?.leaseTransitions ?? 0) + (current && !mine && current.holderIdentity ? 1 : 0),
        resourceVersion: current?.resourceVersion,
      };
    };
    try {
      const current = await this.client.get();
      if (!current) {
        const record = fresh(undefined);
        await this.client.create(record);
        this.observe(record, now);
        return true;
      }
      this.observe(current, now);
      const free = current.holderIdentity === '';
      const mine = current.holderIdentity === identity;
      if (!free && !mine && this.observedAt + leaseDurationMs > now) return false;
      const record = fresh(current);
      await this.client.update(record);
      this.observe(record, now);
      return true;
    } catch (error) {
      if (!(error instanceof LeaseConflict)) {
        logger.warn('lease read or write failed', { identity, error: errorMessage(error) });
      }
      return false;
    }
  }

  /** Remembers when the record last changed, on this replica's clock. */
  private observe(record: LeaseRecord, now: number): void {
    const previous = this.observed;
    const changed =
      !previous ||
      previous.holderIdentity !== record.holderIdentity ||
      previous.renewTime?.getTime() !== record.renewTime?.getTime() ||
      previous.resourceVersion !== record.resourceVersion;
    this.observed = record;
    if (changed) this.observedAt = now;
  }

  /**
   * Stops campaigning or leading. A leader gives the lease up (holder cleared), so another
   * replica takes over at its next attempt instead of after the lease duration.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
    const current = this.observed;
    if (!current || current.holderIdentity !== this.options.identity) return;
    try {
      const latest = await this.client.get();
      if (latest?.holderIdentity !== this.options.identity) return;
      await this.client.update({
        ...latest,
        holderIdentity: '',
        leaseDurationSeconds: 1,
        renewTime: new Date(this.now()),
      });
      this.options.logger.info('released the lease', { identity: this.options.identity });
    } catch (error) {
      this.options.logger.warn('could not release the lease', { error: errorMessage(error) });
    }
  }
}

/** The attempt's answer, or false once `ms` passed without one. */
async function withTimeout(attempt: Promise<boolean>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  const timeout = new AbortController();
  try {
    return await Promise.race([attempt, sleep(ms, false, { signal: timeout.signal }).catch(() => false)]);
  } finally {
    timeout.abort();
  }
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ? new Date(spec.acquireTime) : undefined,
    renewTime: spec.renewTime ? new Date(spec.renewTime) : undefined,
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion,
  };
}

function toLease(name: string, record: LeaseRecord): V1Lease {
  const micro = (d: Date | undefined): V1MicroTime | undefined =>
    d === undefined ? undefined : new V1MicroTime(d.getTime());
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      ...(record.resourceVersion !== undefined ? { resourceVersion: record.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(record.acquireTime),
      renewTime: micro(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

/** A LeaseClient over one coordination.k8s.io/v1 Lease. */
export function kubeLeaseClient(kube: Kube, namespace: string, name: string): LeaseClient {
  const conflict = (error: unknown): never => {
    const status = apiStatus(error);
    if (status === 409) throw new LeaseConflict();
    throw error instanceof Error ? error : new Error(String(error));
  };
  return {
    async get() {
      try {
        return toRecord(await kube.readLease(namespace, name));
      } catch (error) {
        if (apiStatus(error) === 404) return undefined;
        throw error;
      }
    },
    async create(record) {
      await kube.createLease(namespace, toLease(name, record)).catch(conflict);
    },
    async update(record) {
      await kube.replaceLease(namespace, name, toLease(name, record)).catch(conflict);
    },
  };
}
