/**
 * Rate limit of status patches per object: at most one per interval. It also remembers the
 * status last written, which stands in for the cached object's until the watch delivers the
 * patched object (so a reconcile in between neither patches nor records Events twice).
 */
export class StatusLimiter<S> {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly last = new Map<string, { at: number; status: S }>();

  constructor(intervalMs: number, now: () => number = Date.now) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** Milliseconds until the object may be patched again (0: now). */
  wait(key: string): number {
    const last = this.last.get(key);
    if (!last) return 0;
    return Math.max(0, last.at + this.intervalMs - this.now());
  }

  wrote(key: string, status: S): void {
    this.last.set(key, { at: this.now(), status });
  }

  /** The status this replica last wrote for the object. */
  written(key: string): S | undefined {
    return this.last.get(key)?.status;
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
