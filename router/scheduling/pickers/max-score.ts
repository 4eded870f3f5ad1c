/**
 * max-score: the candidate with the highest weighted score. Scores within 1e-9 of the maximum
 * tie, and ties go to the rendezvous winner for workflowKey ?? sessionKey ?? requestKey, so
 * every router replica picks the same pod from the same view and a workflow's tied calls agree.
 */
import { hashKey, rendezvousBeats, rendezvousWeight } from '../rendezvous.ts';
import type { Picker, PodSnapshot, SchedulingRequest } from '../types.ts';

/** Scores this close to the maximum count as equal (floating-point sums of weighted scores). */
export const TIE_EPSILON = 1e-9;

/** The key whose rendezvous hash breaks ties: the workflow, else the session, else the request (empty counts as absent). */
export function tieBreakKey(request: SchedulingRequest): string {
  return request.workflowKey || request.sessionKey || request.requestKey;
}

/** Highest score, ties broken by rendezvous hash; undefined only when `pods` is empty. */
export function pickMaxScore(
  request: SchedulingRequest,
  pods: readonly PodSnapshot[],
  scores: readonly number[],
): PodSnapshot | undefined {
  let max = -Infinity;
  for (let i = 0; i < pods.length; i++) {
    const s = scores[i] ?? 0;
    if (s > max) max = s;
  }
  const floor = max - TIE_EPSILON;
  let best: PodSnapshot | undefined;
  // Hashes are computed only once a second candidate ties: the common case costs none.
  let keyHash = 0;
  let bestWeight = -1;
  for (let i = 0; i < pods.length; i++) {
    if ((scores[i] ?? 0) < floor) continue;
    const pod = pods[i] as PodSnapshot;
    if (best === undefined) {
      best = pod;
      continue;
    }
    if (bestWeight < 0) {
      keyHash = hashKey(tieBreakKey(request));
      bestWeight = rendezvousWeight(keyHash, best.id);
    }
    const weight = rendezvousWeight(keyHash, pod.id);
    if (rendezvousBeats(weight, pod.id, bestWeight, best.id)) {
      best = pod;
      bestWeight = weight;
    }
  }
  return best;
}

export const maxScorePicker: Picker = { name: 'max-score', pick: pickMaxScore };
