/**
 * workflow-pin: score = 1 for the pinned pod while withinSpillBound(pin, candidates, p) (see
 * work.ts); once the pin is over the bound, 0 for the pin and 1 for every other candidate, so
 * the call spills even where the pin's prefix cache would pull it back; 0 for all when the
 * call has no pin or the pin did not pass the filters. Weighted above the sum of all other
 * weights, it decides alone whenever the workflow has a usable pin.
 */
import type { PodSnapshot, SchedulingRequest, Scorer } from '../types.ts';
import { withinSpillBound } from '../work.ts';

export interface WorkflowPinOptions {
  /** `--batching-preference` p in [0,1]: the higher, the more work the pin may carry before a call spills. */
  readonly batchingPreference: number;
}

export function workflowPinScorer(options: WorkflowPinOptions): Scorer {
  const p = options.batchingPreference;
  return {
    name: 'workflow-pin',
    score(request: SchedulingRequest, pods: readonly PodSnapshot[]): number[] {
      const scores = new Array<number>(pods.length).fill(0);
      const pinned = request.pinnedPod;
      if (pinned === undefined) return scores;
      let at = -1;
      for (let i = 0; i < pods.length && at < 0; i++) if ((pods[i] as PodSnapshot).id === pinned) at = i;
      if (at < 0) return scores;
      if (withinSpillBound(pods[at] as PodSnapshot, pods, p)) {
        scores[at] = 1;
      } else {
        scores.fill(1);
        scores[at] = 0;
      }
      return scores;
    },
  };
}
