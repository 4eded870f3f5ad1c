// Leader election against an in-memory Lease with optimistic concurrency and a fake clock:
// one winner, takeover only after the lease duration as seen by the candidate, release on
// stop, conflicts lose quietly. (e2e/operator-leader.test.ts runs it against the emulator.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  LeaderElector,
  LeaseConflict,
  type LeaseClient,
  type LeaseRecord,
} from '../../operator/leader-election.ts';
import { createLogger } from '../../operator/logger.ts';

class MemoryLease implements LeaseClient {
  record: LeaseRecord | undefined;
  private version = 0;
  failing = false;

  get(): Promise<LeaseRecord | undefined> {
    if (this.failing) return Promise.reject(new Error('api server away'));
    return Promise.resolve(this.record ? { ...this.record } : undefined);
  }

  create(record: LeaseRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error('api server away'));
    if (this.record) return Promise.reject(new LeaseConflict());
    this.record = { ...record, resourceVersion: String(++this.version) };
    return Promise.resolve();
  }

  update(record: LeaseRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error('api server away'));
    if (record.resourceVersion !== this.record?.resourceVersion) return Promise.reject(new LeaseConflict());
    this.record = { ...record, resourceVersion: String(++this.version) };
    return Promise.resolve();
  }
}

const logger = createLogger('error');

function elector(lease: LeaseClient, identity: string, clock: { t: number }): LeaderElector {
  return new LeaderElector(lease, {
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    logger,
    now: () => clock.t,
  });
}

describe('LeaderElector.tryAcquireOrRenew', () => {
  test('the first candidate creates the lease; the second waits for the lease duration on its own clock', async () => {
    const lease = new MemoryLease();
    const clock = { t: 1_000_000 };
    const a = elector(lease, 'a', clock);
    const b = elector(lease, 'b', clock);
    assert.equal(await a.tryAcquireOrRenew(), true);
    assert.equal(lease.record?.holderIdentity, 'a');
    assert.equal(lease.record?.leaseDurationSeconds, 15);
    assert.equal(await b.tryAcquireOrRenew(), false);
    assert.equal(b.holder, 'a');

    // a renews: b's wait restarts from when it sees the renewal.
    clock.t += 10_000;
    assert.equal(await a.tryAcquireOrRenew(), true);
    clock.t += 1_000;
    assert.equal(await b.tryAcquireOrRenew(), false, 'sees the renewal');
    clock.t += 14_000;
    assert.equal(await b.tryAcquireOrRenew(), false, '14 s after seeing it: still a');
    clock.t += 1_000;
    assert.equal(await b.tryAcquireOrRenew(), true, '15 s after: b takes over');
    assert.equal(lease.record?.holderIdentity, 'b');
    assert.equal(lease.record?.leaseTransitions, 1);
    assert.equal(await a.tryAcquireOrRenew(), false, 'a lost it');
  });

  test('a stale write loses with a conflict, never two holders', async () => {
    const lease = new MemoryLease();
    const clock = { t: 0 };
    const a = elector(lease, 'a', clock);
    const b = elector(lease, 'b', clock);
    const [ra, rb] = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    assert.equal(Number(ra) + Number(rb), 1);
  });

  test('errors reading the lease are a failed attempt', async () => {
    const lease = new MemoryLease();
    lease.failing = true;
    assert.equal(await elector(lease, 'a', { t: 0 }).tryAcquireOrRenew(), false);
  });
});

describe('LeaderElector.run', () => {
  test('leads, then stop() releases the lease so the other takes it at its next attempt', async () => {
    const lease = new MemoryLease();
    const clock = { t: 0 };
    const fast = (id: string) =>
      new LeaderElector(lease, {
        identity: id,
        leaseDurationMs: 60_000,
        renewDeadlineMs: 40_000,
        retryPeriodMs: 10,
        logger,
        now: () => clock.t,
      });
    const a = fast('a');
    const b = fast('b');
    const events: string[] = [];
    const started = new Promise<void>((resolve) => {
      void a.run({
        onStartedLeading: () => {
          events.push('a started');
          resolve();
        },
        onStoppedLeading: () => events.push('a stopped'),
      });
    });
    await started;
    const bLeads = new Promise<void>((resolve) => {
      void b.run({ onStartedLeading: () => resolve(), onStoppedLeading: () => undefined });
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.isLeader, false, 'the lease is far from expiry');
    await a.stop();
    assert.deepEqual(events, ['a started', 'a stopped']);
    assert.equal(lease.record?.holderIdentity, '');
    await bLeads;
    assert.equal(lease.record?.holderIdentity, 'b');
    await b.stop();
  });

  test('a leader that cannot renew within the deadline stops leading', async () => {
    const lease = new MemoryLease();
    const clock = { t: 0 };
    const a = new LeaderElector(lease, {
      identity: 'a',
      leaseDurationMs: 1000,
      renewDeadlineMs: 500,
      retryPeriodMs: 10,
      logger,
      now: () => clock.t,
    });
    const lost = new Promise<void>((resolve) => {
      void a.run({
        onStartedLeading: () => {
          lease.failing = true;
        },
        onStoppedLeading: () => resolve(),
      });
    });
    const timer = setInterval(() => (clock.t += 100), 5);
    try {
      await lost;
    } finally {
      clearInterval(timer);
    }
    assert.equal(a.isLeader, false);
  });
});
