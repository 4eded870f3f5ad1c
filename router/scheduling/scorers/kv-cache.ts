/** kv-cache: score = 1 − kvUsage (clamped to [0,1]); the pod with the most free KV cache scores highest. */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';

export const kvCacheScorer: Scorer = {
  name: 'kv-cache',
  score(_request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
    const scores = new Array<number>(pods.length);
    for (let i = 0; i < pods.length; i++) {
      const usage = (pods[i] as PodSnapshot).kvUsage;
      scores[i] = usage >= 1 ? 0 : usage <= 0 ? 1 : 1 - usage;
    }
    return scores;
  },
};
