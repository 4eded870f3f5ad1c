/**
 * Runs one profile over a pod snapshot: filters in order, then the weighted sum of the scorers,
 * then the picker. Pure and synchronous: every input is in the arguments.
 */
import { capacityFilter } from './filters/capacity.ts';
import { healthyFilter } from './filters/healthy.ts';
import { modelFilter } from './filters/model.ts';
import type { Decision, Filter, PodSnapshot, Profile, SchedulingRequest } from './types.ts';

export type Rejection = NonNullable<Decision['rejection']>;

/** What it means when a filter leaves no candidate. */
const REJECTION_BY_FILTER: ReadonlyMap<string, Rejection> = new Map<string, Rejection>([
  [modelFilter.name, 'no-pods-for-model'],
  [healthyFilter.name, 'no-healthy-pods'],
  [capacityFilter.name, 'all-saturated'],
]);

/**
 * The rejection a filter stands for. An empty pool rejects as 'no-pods-for-model' (nothing
 * serves it); a custom filter that empties the set as 'no-healthy-pods' (nothing usable).
 */
export function rejectionFor(filter: Filter | undefined): Rejection {
  if (filter === undefined) return 'no-pods-for-model';
  return REJECTION_BY_FILTER.get(filter.name) ?? 'no-healthy-pods';
}

function rejected(profile: Profile, filter: Filter | undefined): Decision {
  return {
    pod: undefined,
    profile: profile.name,
    candidates: 0,
    rejection: rejectionFor(filter),
    scores: {},
  };
}

/** Places one call: the picked pod (or why none), with the weighted total of every candidate. */
export function schedule(
  profile: Profile,
  request: SchedulingRequest,
  pods: readonly PodSnapshot[],
): Decision {
  if (pods.length === 0) return rejected(profile, undefined);
  let candidates: readonly PodSnapshot[] = pods;
  for (const filter of profile.filters) {
    candidates = filter.filter(request, candidates);
    if (candidates.length === 0) return rejected(profile, filter);
  }

  const n = candidates.length;
  const totals = new Array<number>(n).fill(0);
  for (const { scorer, weight } of profile.scorers) {
    if (weight === 0) continue;
    const scores = scorer.score(request, candidates);
    for (let i = 0; i < n; i++) totals[i] = (totals[i] ?? 0) + weight * (scores[i] ?? 0);
  }

  const pod = profile.picker.pick(request, candidates, totals);
  const byId: Record<string, number> = {};
  for (let i = 0; i < n; i++) byId[(candidates[i] as PodSnapshot).id] = totals[i] ?? 0;
  return { pod, profile: profile.name, candidates: n, rejection: undefined, scores: byId };
}
