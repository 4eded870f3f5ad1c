import type { WorkflowRecord } from '../records.ts';

/** Invalidations remembered per workflow before they are folded into one global one. */
const MAX_REMEMBERED_INVALIDATIONS = 10_000;

/**
 * A replica's near-cache of workflow records (declaration, strategy, priority, pin), kept
 * coherent by the invalidation channel (DESIGN section 6).
 *
 * It serves hits only while this replica is subscribed to invalidations ("live"); while
 * the subscription is lost it keeps its entries as a fallback for when Redis is unreachable
 * and reads go through to Redis; on resubscribing it starts empty, since invalidations may
 * have been missed.
 *
 * A read from Redis takes a ticket before it is sent and may store its result only if no
 * invalidation of that workflow arrived since: an invalidation can overtake the reply of
 * a read that saw the old value (they travel on different connections).
 */
export class NearCache {
  private readonly entries = new Map<string, WorkflowRecord>();
  private readonly invalidatedAt = new Map<string, number>();
  private readonly capacity: number;
  private clock = 0;
  private clearedAt = 0;
  private live = false;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** A coherent entry, or undefined (then ask Redis). */
  get(id: string): WorkflowRecord | undefined {
    if (!this.live) return undefined;
    const record = this.entries.get(id);
    if (record) {
      this.entries.delete(id);
      this.entries.set(id, record);
    }
    return record;
  }

  /** The last known entry even if it may be stale: the answer while Redis is unreachable. */
  fallback(id: string): WorkflowRecord | undefined {
    return this.entries.get(id);
  }

  ticket(): number {
    return this.clock;
  }

  /** Stores what a read that started at `ticket` returned, unless it may be stale. */
  put(id: string, record: WorkflowRecord, ticket: number): void {
    if (!this.live || !this.valid(id, ticket)) return;
    this.entries.delete(id);
    this.entries.set(id, record);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** Updates an entry in place with what this replica's own write returned. */
  update(id: string, ticket: number, change: (record: WorkflowRecord) => void): void {
    const record = this.entries.get(id);
    if (record && this.live && this.valid(id, ticket)) change(record);
  }

  /** Applies a change that is monotonic (activity), so it needs no ticket. */
  touch(id: string, change: (record: WorkflowRecord) => void): void {
    const record = this.entries.get(id);
    if (record) change(record);
  }

  invalidate(id: string): void {
    this.clock += 1;
    this.entries.delete(id);
    this.invalidatedAt.set(id, this.clock);
    if (this.invalidatedAt.size > MAX_REMEMBERED_INVALIDATIONS) {
      this.invalidatedAt.clear();
      this.clearedAt = this.clock;
    }
  }

  /** Subscribed (live) or not; becoming live starts from an empty cache. */
  setLive(live: boolean): void {
    if (live && !this.live) this.clear();
    this.live = live;
  }

  isLive(): boolean {
    return this.live;
  }

  clear(): void {
    this.clock += 1;
    this.clearedAt = this.clock;
    this.entries.clear();
    this.invalidatedAt.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private valid(id: string, ticket: number): boolean {
    return ticket >= this.clearedAt && ticket >= (this.invalidatedAt.get(id) ?? 0);
  }
}
