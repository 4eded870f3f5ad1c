/**
 * load: score = 1 − (l − min l) / max(max l − min l, 4), l = inflight + waiting (min-max
 * normalised across candidates; 1 = least loaded, all equal → all 1; spreads under 4 requests
 * score proportionally less than a full point).
 */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';
import { lowerIsBetter } from './min-max.ts';

/** Below this spread of in-flight + waiting requests, the most loaded pod keeps a partial score. */
export const LOAD_MIN_SPREAD = 4;

export const loadScorer: Scorer = {
  name: 'load',
  score(_request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
    const scores = new Array<number>(pods.length);
    for (let i = 0; i < pods.length; i++) {
      const pod = pods[i] as PodSnapshot;
      scores[i] = pod.inflight + pod.waiting;
    }
    return lowerIsBetter(scores, LOAD_MIN_SPREAD);
  },
};
