/** prefix: score = matched chunks / promptChunks (0 when promptChunks = 0): the share of the prompt the pod likely has cached. */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';

export const prefixScorer: Scorer = {
  name: 'prefix',
  score(request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
    const total = request.promptChunks;
    const scores = new Array<number>(pods.length);
    for (let i = 0; i < pods.length; i++) {
      const matched = total > 0 ? (request.prefixMatches.get((pods[i] as PodSnapshot).id) ?? 0) : 0;
      scores[i] = matched <= 0 ? 0 : matched >= total ? 1 : matched / total;
    }
    return scores;
  },
};
