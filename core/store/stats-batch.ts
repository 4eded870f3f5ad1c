import type { WorkflowKey } from '../ids.ts';
import type { WorkflowEvent } from './records.ts';

/**
 * A batch of statistics as one router replica writes it (DESIGN section 6), and the rules both
 * stores apply to it, so that a batch counts exactly once and a dead replica's calls in flight
 * stop counting.
 *
 * Exactly once. A replica (a `writer`: a random id per process, so a restarted router never
 * reuses one) numbers its batches 1, 2, 3... and sends them one at a time, re-sending a batch
 * unchanged until the store acknowledges it. Each workflow keeps, per writer, the highest `seq`
 * it applied (a WriterMark); a batch at or below it is a re-send whose first attempt was applied
 * but not acknowledged (Redis executed the script and the connection died before the reply),
 * and is skipped. A high-water mark rather than a set of batch ids: one field per writer, and no
 * window in which a retried batch outlives the record of its first application. The mark of a
 * writer is forgotten WRITER_RETENTION_MS after its last batch (space for dead replicas), so a
 * batch retried after more than a day away would count again: the one bound of the guarantee.
 *
 * Calls in flight. The counter of a workflow is not moved by call-start and call events (a
 * crashed replica would never send the matching ends, and the workflow could then never be
 * evicted). Each writer instead reports, with a batch, how many calls it has in flight for the
 * workflow: an absolute count, so re-sending or losing a batch cannot skew it. The count holds
 * for `leaseMs` (on the store's clock) and the writer re-sends it well within the lease while the
 * calls last; a writer that dies stops renewing, and its share stops counting when the lease
 * ends. The workflow's inflight is the sum of the live shares. The trade-off: a killed replica's
 * calls keep their workflow busy (not evictable, shown in its status) for up to one lease, and a
 * replica cut off from the store for longer than a lease no longer protects its workflows from
 * eviction by the replicas that still reach it.
 */
export interface StatsBatch {
  /** Identifies the writing replica; unique per process. */
  writer: string;
  /** 1, 2, 3... per writer: a workflow applies each of a writer's batches once, in this order. */
  seq: number;
  events: readonly WorkflowEvent[];
  /** The writer's calls in flight, for the workflows whose count changed or whose lease it renews. */
  inflight: readonly InflightShare[];
  /** How long a share holds without being renewed. */
  leaseMs: number;
}

export interface InflightShare {
  key: WorkflowKey;
  calls: number;
}

/** What a workflow remembers of one writer: its last applied batch and its calls in flight. */
export interface WriterMark {
  seq: number;
  calls: number;
  /** When `calls` stops counting, in epoch ms of the store's clock. */
  until: number;
}

/** A writer's mark is dropped this long after its last batch (see above). */
export const WRITER_RETENTION_MS = 24 * 3600 * 1000;

/** True when `seq` was applied already: the batch is a re-send and must be skipped. */
export function alreadyApplied(mark: WriterMark | undefined, seq: number): boolean {
  return mark !== undefined && seq <= mark.seq;
}

/**
 * The writer's mark once batch `seq` is applied; `calls` undefined: the batch carried no share,
 * so a running lease is kept as it is (only a share renews it). With no calls, `until` is the
 * time of the last batch, from which the retention counts.
 */
export function markAfter(
  mark: WriterMark | undefined,
  seq: number,
  calls: number | undefined,
  leaseMs: number,
  now: number,
): WriterMark {
  if (calls !== undefined) return { seq, calls, until: now + leaseMs };
  if (mark !== undefined && mark.calls > 0) return { seq, calls: mark.calls, until: mark.until };
  return { seq, calls: 0, until: now };
}

/** Calls in flight fleet-wide: the shares whose lease has not ended. */
export function liveCalls(marks: Iterable<WriterMark>, now: number): number {
  let calls = 0;
  for (const mark of marks) if (mark.until > now) calls += mark.calls;
  return calls;
}

/** True when a writer's mark may be forgotten. */
export function forgettable(mark: WriterMark, now: number): boolean {
  return mark.until + WRITER_RETENTION_MS < now;
}

/** The Redis form of a mark (a hash field's value): `seq:calls:until`. */
export function formatWriterMark(mark: WriterMark): string {
  return `${mark.seq}:${mark.calls}:${mark.until}`;
}

export function parseWriterMark(raw: string): WriterMark | undefined {
  const [seq, calls, until] = raw.split(':').map(Number);
  if (seq === undefined || calls === undefined || until === undefined) return undefined;
  if (![seq, calls, until].every(Number.isFinite)) return undefined;
  return { seq, calls, until };
}
