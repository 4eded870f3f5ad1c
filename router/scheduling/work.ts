/**
 * The spill bound of `workflow_aware` (DESIGN section 4): a pinned workflow's calls stay on
 * its pin until the pin carries clearly more work than the least busy candidate.
 *
 *   work(pod)  = inflightUncachedTokens + others × WAITING_TOKENS
 *   others     = max(0, running + waiting − inflight)   (the pod's calls from other replicas)
 *   slack(p)   = p / (1 − p) × SLACK_UNIT_TOKENS        (p = 0 → 0, p = 1 → ∞)
 *   within     ⇔ work(pin) − min work(candidates) ≤ slack(p)
 *
 * Work counts prefill, not requests: one 8k-token uncached prompt weighs as much as sixteen
 * queued short calls, because prefill is what delays everything behind it on a vLLM pod.
 * With the default p = 0.8 the pin may carry 8,192 more tokens of work than the idlest pod
 * (about two long documents) before a call spills; p = 0.5 tolerates 2,048; p = 0.9, 18,432.
 */
import type { PodSnapshot } from './types.ts';

/**
 * Prefill tokens one waiting request is assumed to cost: the pod's queue is scraped as a count,
 * without prompt lengths, and 512 is a typical agent call's uncached prompt.
 */
export const WAITING_TOKENS = 512;

/** The work imbalance tolerated at p = 0.5: one mid-sized prompt's prefill. */
export const SLACK_UNIT_TOKENS = 2048;

/**
 * Outstanding prefill work on a pod, in tokens. This replica's own calls are counted from what
 * it sent (their uncached tokens); the scraped queue adds only what is beyond them, the calls of
 * other replicas, so a burst from this replica is not counted twice (nor judged by a scrape up
 * to a health interval old).
 */
export function podWork(pod: PodSnapshot): number {
  const others = Math.max(0, pod.running + pod.waiting - pod.inflight);
  return pod.inflightUncachedTokens + others * WAITING_TOKENS;
}

/** Tokens of work a pin may carry beyond the idlest candidate at batching preference `p` (0..1). */
export function spillSlackTokens(p: number): number {
  if (p >= 1) return Infinity;
  if (p <= 0) return 0;
  return (p / (1 - p)) * SLACK_UNIT_TOKENS;
}

/**
 * True when the pin may keep the call: work(pin) − min work over `candidates` ≤ slack(p).
 * `candidates` are the pods that passed the filters; the pin counts among them.
 */
export function withinSpillBound(pin: PodSnapshot, candidates: readonly PodSnapshot[], p: number): boolean {
  const pinWork = podWork(pin);
  let minWork = pinWork;
  for (const pod of candidates) {
    const work = podWork(pod);
    if (work < minWork) minWork = work;
  }
  return pinWork - minWork <= spillSlackTokens(p);
}
