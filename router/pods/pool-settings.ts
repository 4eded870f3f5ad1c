import type { RoutingPool } from '../../core/routing-table.ts';
import { routingPoolId } from '../../core/routing-table.ts';
import type { RoutingLogic } from '../scheduling/profiles.ts';

/**
 * A VllmPool's `spec.routing` as the routers read it from the routing table. A field the pool
 * leaves unset is undefined here and the router's own flag applies to it.
 */
export interface PoolSettings {
  /** `<namespace>/<name>`: pool names are unique only within a namespace. */
  readonly id: string;
  readonly name: string;
  readonly logic: RoutingLogic | undefined;
  readonly batchingPreference: number | undefined;
  readonly maxInflightPerPod: number | undefined;
  readonly maxWorkflowsPerPod: number | undefined;
}

/** The routing settings one call is placed with: its pool's, else the router's flags. */
export interface CallRouting {
  /** The pool the call is placed in (undefined: static discovery, every pod). */
  readonly pool: string | undefined;
  readonly logic: RoutingLogic;
  readonly batchingPreference: number;
  /** Pinned workflows a pod may hold before it takes no new ones (undefined: no cap). */
  readonly maxWorkflowsPerPod: number | undefined;
}

/** The router flags that are the defaults of every pool setting. */
export interface RoutingDefaults {
  readonly routingLogic: RoutingLogic;
  readonly batchingPreference: number;
}

export function poolSettingsOf(pool: RoutingPool): PoolSettings {
  return {
    id: routingPoolId(pool),
    name: pool.name,
    logic: pool.logic,
    batchingPreference: pool.batchingPreference,
    maxInflightPerPod: pool.maxInflightPerPod,
    maxWorkflowsPerPod: pool.maxWorkflowsPerPod,
  };
}

/** What the pool sets wins; what it leaves unset is the router's flag. */
export function callRouting(settings: PoolSettings | undefined, defaults: RoutingDefaults): CallRouting {
  return {
    pool: settings?.id,
    logic: settings?.logic ?? defaults.routingLogic,
    batchingPreference: settings?.batchingPreference ?? defaults.batchingPreference,
    maxWorkflowsPerPod: settings?.maxWorkflowsPerPod,
  };
}
