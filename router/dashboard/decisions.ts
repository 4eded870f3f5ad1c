import type { CallSummary } from '../tracing.ts';

/**
 * The latest routing decisions of this replica, for the dashboard: a fixed-size ring buffer
 * fed from the request path (one array write per call, nothing else on the hot path).
 */
export class DecisionLog {
  private readonly entries: (CallSummary | undefined)[];
  private next = 0;
  /** Calls recorded since start: lets a reader tell cheaply whether anything changed. */
  recorded = 0;

  constructor(capacity = 256) {
    this.entries = new Array<CallSummary | undefined>(capacity);
  }

  record(summary: CallSummary): void {
    this.entries[this.next] = summary;
    this.next = (this.next + 1) % this.entries.length;
    this.recorded += 1;
  }

  /** Up to `limit` decisions of one tenant, newest first. */
  latest(tenant: string, limit: number): CallSummary[] {
    const out: CallSummary[] = [];
    const n = this.entries.length;
    for (let i = 1; i <= n && out.length < limit; i++) {
      const entry = this.entries[(this.next - i + n) % n];
      if (entry === undefined) break;
      if (entry.tenant === tenant) out.push(entry);
    }
    return out;
  }
}
