// Statistics batches for store tests: one writer per test process, numbered in order unless a
// test gives the writer or the batch number (to re-send a batch, or play another replica).
import type { WorkflowEvent } from '../../core/store/records.ts';
import type { InflightShare, StatsBatch } from '../../core/store/stats-batch.ts';

const seqs = new Map<string, number>();

export interface BatchOptions {
  writer?: string;
  seq?: number;
  inflight?: readonly InflightShare[];
  leaseMs?: number;
}

export function statsBatch(events: readonly WorkflowEvent[], options: BatchOptions = {}): StatsBatch {
  const writer = options.writer ?? 'test-writer';
  const seq = options.seq ?? (seqs.get(writer) ?? 0) + 1;
  seqs.set(writer, Math.max(seq, seqs.get(writer) ?? 0));
  return { writer, seq, events, inflight: options.inflight ?? [], leaseMs: options.leaseMs ?? 60_000 };
}
