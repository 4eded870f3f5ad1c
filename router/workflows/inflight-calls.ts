import { keyString, type WorkflowKey } from '../../core/ids.ts';
import type { WorkflowEvent } from '../../core/store/records.ts';
import type { InflightShare } from '../../core/store/stats-batch.ts';

interface Entry {
  key: WorkflowKey;
  calls: number;
  /** Changed since the last share was taken. */
  changed: boolean;
}

/**
 * This replica's calls in flight per workflow, counted from the events it records. Batches
 * carry them as absolute shares (stats-batch.ts), so the store's count heals from any lost or
 * repeated batch, and a share that is not renewed (the replica died) stops counting.
 */
export class InflightCalls {
  private readonly entries = new Map<string, Entry>();

  note(event: WorkflowEvent): void {
    if (event.type !== 'call-start' && event.type !== 'call') return;
    const id = keyString(event.key);
    const entry = this.entries.get(id) ?? { key: event.key, calls: 0, changed: false };
    entry.calls = event.type === 'call-start' ? entry.calls + 1 : Math.max(0, entry.calls - 1);
    entry.changed = true;
    this.entries.set(id, entry);
  }

  /** True while some workflow has a call in flight here (its lease needs renewing). */
  busy(): boolean {
    for (const entry of this.entries.values()) if (entry.calls > 0) return true;
    return false;
  }

  /**
   * The shares to send with the next batch: the changed ones, or with `renew` every one with
   * calls in flight. A workflow with no call left is forgotten once its 0 is taken.
   */
  take(renew: boolean): InflightShare[] {
    const shares: InflightShare[] = [];
    for (const [id, entry] of this.entries) {
      if (!entry.changed && !(renew && entry.calls > 0)) continue;
      shares.push({ key: entry.key, calls: entry.calls });
      entry.changed = false;
      if (entry.calls === 0) this.entries.delete(id);
    }
    return shares;
  }

  /** Sends these shares again with the next batch (the batch that carried them was dropped). */
  retake(shares: readonly InflightShare[]): void {
    for (const share of shares) {
      const id = keyString(share.key);
      const entry = this.entries.get(id) ?? { key: share.key, calls: 0, changed: false };
      entry.changed = true;
      this.entries.set(id, entry);
    }
  }
}
