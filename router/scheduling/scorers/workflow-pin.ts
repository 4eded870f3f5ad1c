/**
 * workflow-pin: score = 1 for the pinned pod while the call is within the spill bound
 * (see work.ts); once the pin is over the bound, 0 for the pin and for every other candidate
 * 1 − (cost − min cost) / max(max cost − min cost, WAITING_TOKENS) over the non-pin candidates,
 * cost = the queue's prefill work plus the call's own uncached prefill there, so the call spills
 * to the pod that would start it soonest even where the pin's prefix cache would pull it back;
 * 0 for all when the call has no pin or the pin did not pass the filters. Weighted above the sum
 * of all other weights, it decides alone whenever the workflow has a usable pin; the other
 * scorers only break ties between equally cheap spill targets.
 */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';
import { lowerIsBetter } from './min-max.ts';
import { WAITING_TOKENS, callCost, costWithinSlack } from '../work.ts';

export interface WorkflowPinOptions {
  /** `--batching-preference` p in [0,1]: the higher, the more work the pin may carry before a call spills. */
  readonly batchingPreference: number;
}

export function workflowPinScorer(options: WorkflowPinOptions): Scorer {
  const p = options.batchingPreference;
  return {
    name: 'workflow-pin',
    score(request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
      const pinned = request.pinnedPod;
      if (pinned === undefined) return new Array<number>(pods.length).fill(0);
      const at = pods.findIndex((pod) => pod.id === pinned);
      if (at < 0) return new Array<number>(pods.length).fill(0);
      // Each candidate's cost once: the bound and, past it, the spill scores both read them.
      const costs = pods.map((pod) => callCost(request, pod));
      if (costWithinSlack(costs[at] as number, costs, p)) {
        const scores = new Array<number>(pods.length).fill(0);
        scores[at] = 1;
        return scores;
      }
      return cheapestSpillScores(costs, at);
    },
  };
}

/**
 * Scores of a spilled call from each candidate's cost: the pin 0, the others min-max normalised
 * (lower is better), a spread under one queued call's worth of tokens scoring proportionally
 * less than a full point.
 */
function cheapestSpillScores(costs: readonly number[], pinAt: number): number[] {
  const scores = lowerIsBetter(
    costs.filter((_, i) => i !== pinAt),
    WAITING_TOKENS,
  );
  scores.splice(pinAt, 0, 0);
  return scores;
}
