/**
 * workflow-balance: score = 1 − (w − min w) / max(max w − min w, 4), w = pinnedWorkflows
 * (min-max normalised; fewest pinned workflows → 1). Spreads new workflows over the pods.
 */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';
import { lowerIsBetter } from './min-max.ts';

/** Below this spread of pinned workflows, the busiest pod keeps a partial score. */
export const BALANCE_MIN_SPREAD = 4;

export const workflowBalanceScorer: Scorer = {
  name: 'workflow-balance',
  score(_request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
    const scores = new Array<number>(pods.length);
    for (let i = 0; i < pods.length; i++) scores[i] = (pods[i] as PodSnapshot).pinnedWorkflows;
    return lowerIsBetter(scores, BALANCE_MIN_SPREAD);
  },
};
