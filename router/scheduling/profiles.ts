/**
 * The named profiles behind `--routing-logic` (DESIGN section 4), in one table. Every profile
 * drops pods that do not serve the model, are unhealthy or draining, or are at their in-flight
 * cap; workflow_aware also drops pods at the pool's maxWorkflowsPerPod for new workflows
 * (workflow-cap). They differ in scorers (weights below) and picker.
 *
 * | logic          | scorers (weight)                                              | picker       |
 * |----------------|---------------------------------------------------------------|--------------|
 * | roundrobin     | none                                                          | round-robin  |
 * | least_loaded   | load 1                                                        | max-score    |
 * | session        | load 1 (used only by calls without a session key)             | session-hash |
 * | prefix_aware   | prefix 2, load 1                                              | max-score    |
 * | workflow_aware | workflow-pin 100, prefix 2, workflow-balance 2, load 1         | max-score    |
 *
 * workflow_aware: the pin's 100 outweighs the other weights together (5), so a call whose pin
 * passed the filters and is within the spill bound always goes there, and a call whose pin is
 * over the bound always leaves it. New workflows (and spills, and migrations) are placed by
 * prefix 2 + balance 2 + load 1: a 90% cached prefix (+1.8) wins unless its pod is clearly busier
 * (each pinned workflow above the least busy pod costs up to 0.5, each in-flight or waiting
 * request up to 0.25, each capped at its weight: four more workflows, or three more and two more
 * requests, outweigh it); a prefix every workflow shares (a system prompt, say 20% → +0.4) is
 * worth less than one extra workflow, so it cannot pile workflows onto one pod.
 * Calls without a workflow use prefix_aware ({@link profileForCall}).
 */
import { ROUTING_LOGIC_NAMES, type RoutingLogicName } from '../../core/routing-logic.ts';
import { capacityFilter } from './filters/capacity.ts';
import { healthyFilter } from './filters/healthy.ts';
import { modelFilter } from './filters/model.ts';
import { workflowCapFilter } from './filters/workflow-cap.ts';
import { maxScorePicker } from './pickers/max-score.ts';
import { roundRobinPicker } from './pickers/round-robin.ts';
import { sessionHashPicker } from './pickers/session-hash.ts';
import { loadScorer } from './scorers/load.ts';
import { prefixScorer } from './scorers/prefix.ts';
import { workflowBalanceScorer } from './scorers/workflow-balance.ts';
import { workflowPinScorer } from './scorers/workflow-pin.ts';
import type { Filter, Profile } from './types.ts';

/** The logics of `--routing-logic`, shared with the VllmPool resource through core. */
export const ROUTING_LOGICS = ROUTING_LOGIC_NAMES;
export type RoutingLogic = RoutingLogicName;

export interface ProfileOptions {
  /** `--batching-preference` p in [0,1] (default 0.8): how much work a pin carries before calls spill. */
  readonly batchingPreference: number;
}

export const DEFAULT_BATCHING_PREFERENCE = 0.8;

/** The weights of the scoring profiles, by scorer name. */
export const WEIGHTS = {
  least_loaded: { load: 1 },
  session: { load: 1 },
  prefix_aware: { prefix: 2, load: 1 },
  workflow_aware: { 'workflow-pin': 100, prefix: 2, 'workflow-balance': 2, load: 1 },
} as const;

const FILTERS: readonly Filter[] = [modelFilter, healthyFilter, capacityFilter];
/** workflow_aware also honours the pool's cap on pinned workflows per pod (a no-op without one). */
const WORKFLOW_FILTERS: readonly Filter[] = [...FILTERS, workflowCapFilter];

const FIXED: Readonly<Record<Exclude<RoutingLogic, 'workflow_aware'>, Profile>> = {
  roundrobin: { name: 'roundrobin', filters: FILTERS, scorers: [], picker: roundRobinPicker },
  least_loaded: {
    name: 'least_loaded',
    filters: FILTERS,
    scorers: [{ scorer: loadScorer, weight: WEIGHTS.least_loaded.load }],
    picker: maxScorePicker,
  },
  session: {
    name: 'session',
    filters: FILTERS,
    scorers: [{ scorer: loadScorer, weight: WEIGHTS.session.load }],
    picker: sessionHashPicker,
  },
  prefix_aware: {
    name: 'prefix_aware',
    filters: FILTERS,
    scorers: [
      { scorer: prefixScorer, weight: WEIGHTS.prefix_aware.prefix },
      { scorer: loadScorer, weight: WEIGHTS.prefix_aware.load },
    ],
    picker: maxScorePicker,
  },
};

function workflowAware(batchingPreference: number): Profile {
  const w = WEIGHTS.workflow_aware;
  return {
    name: 'workflow_aware',
    filters: WORKFLOW_FILTERS,
    scorers: [
      { scorer: workflowPinScorer({ batchingPreference }), weight: w['workflow-pin'] },
      { scorer: prefixScorer, weight: w.prefix },
      { scorer: workflowBalanceScorer, weight: w['workflow-balance'] },
      { scorer: loadScorer, weight: w.load },
    ],
    picker: maxScorePicker,
  };
}

/** Built workflow_aware profiles by batching preference: profiles are immutable, so callers share them. */
const workflowAwareByPreference = new Map<number, Profile>();

/** The profile of a routing logic. Profiles are immutable and memoised: cheap to call per request. */
export function profileFor(logic: RoutingLogic, options: ProfileOptions): Profile {
  const p = options.batchingPreference;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`batchingPreference must be in [0, 1], got ${p}`);
  if (logic !== 'workflow_aware') return FIXED[logic];
  let profile = workflowAwareByPreference.get(p);
  if (profile === undefined) {
    profile = workflowAware(p);
    workflowAwareByPreference.set(p, profile);
  }
  return profile;
}

/**
 * The profile for one call: workflow_aware serves calls of a pinning workflow (context sharing
 * other than `none`) and sends every other call through prefix_aware; other logics ignore
 * `pinsWorkflow`.
 */
export function profileForCall(logic: RoutingLogic, pinsWorkflow: boolean, options: ProfileOptions): Profile {
  return profileFor(logic === 'workflow_aware' && !pinsWorkflow ? 'prefix_aware' : logic, options);
}
