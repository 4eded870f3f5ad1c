/**
 * The spill bound of `workflow_aware` (DESIGN section 4): a pinned workflow's calls stay on
 * its pin until sending the call there costs clearly more than sending it elsewhere.
 *
 *   work(pod)       = inflightUncachedTokens + others × WAITING_TOKENS
 *   others          = max(0, running + waiting − inflight)   (the pod's calls from other replicas)
 *   uncached(c,pod) = promptTokens(c) × (1 − matchedChunks(c,pod) / promptChunks(c))
 *   cost(c,pod)     = work(pod) + uncached(c,pod)
 *   slack(p)        = p / (1 − p) × SLACK_UNIT_TOKENS        (p = 0 → 0, p = 1 → ∞)
 *   within          ⇔ cost(c,pin) − min cost(c,candidates) ≤ slack(p)
 *
 * Work counts prefill, not requests: one 8k-token uncached prompt weighs as much as sixteen
 * queued short calls, because prefill is what delays everything behind it on a vLLM pod. The
 * call's own prefill counts too: on its pin the workflow's context is cached, elsewhere it is
 * not, so a pin with a 1,500-token context carries that much more work before a call leaves it,
 * and a spilled call goes where its prefill plus the queue ahead of it is least
 * (scorers/workflow-pin.ts), not merely where a prefix was seen (that piles every spill of
 * a burst onto the first pod that took one). The slack on top is the batching preference: extra
 * queueing accepted to keep a workflow's context in one KV cache. With the default p = 0.8 the
 * pin may cost 8,192 tokens more than the cheapest pod (about two long documents); p = 0.5
 * tolerates 2,048; p = 0.9, 18,432.
 */
import type { PodSnapshot, SchedulingRequest } from './types.ts';

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
 * Prompt tokens of the call that `pod` would have to prefill: the share beyond the prefix the
 * pod has likely cached (chunks and tokens are both proportional to the prompt's length).
 */
export function uncachedTokens(request: SchedulingRequest, pod: PodSnapshot): number {
  const total = request.promptChunks;
  if (total <= 0) return request.promptTokens;
  const matched = Math.min(Math.max(request.prefixMatches.get(pod.id) ?? 0, 0), total);
  return request.promptTokens * (1 - matched / total);
}

/** Prefill tokens ahead of and including the call if it were sent to `pod`. */
export function callCost(request: SchedulingRequest, pod: PodSnapshot): number {
  return podWork(pod) + uncachedTokens(request, pod);
}

/**
 * True when the pin may keep the call: cost(pin) − min cost over `candidates` ≤ slack(p).
 * `candidates` are the pods that passed the filters; the pin counts among them.
 */
export function withinSpillBound(
  request: SchedulingRequest,
  pin: PodSnapshot,
  candidates: readonly PodSnapshot[],
  p: number,
): boolean {
  return costWithinSlack(
    callCost(request, pin),
    candidates.map((pod) => callCost(request, pod)),
    p,
  );
}

/** The same bound on costs already computed: `pinCost` − min(`costs`, `pinCost`) ≤ slack(p). */
export function costWithinSlack(pinCost: number, costs: readonly number[], p: number): boolean {
  let minCost = pinCost;
  for (const cost of costs) if (cost < minCost) minCost = cost;
  return pinCost - minCost <= spillSlackTokens(p);
}
