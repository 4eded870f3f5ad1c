/**
 * Which VllmPool a call is placed in (`--service-discovery k8s`). A pool's `spec.routing`
 * applies to the calls placed in it, so each call is scheduled within one pool:
 *
 * 1. a workflow with a `poolRef`: that pool (by id `<namespace>/<name>`, or by name);
 * 2. a workflow pinned to a healthy pod that serves the model: the pin's pool, so the pin keeps
 *    its calls;
 * 3. the only pool serving the model;
 * 4. several pools serve it: weighted rendezvous hashing of the call's affinity key (workflow,
 *    else session, else request id) over the pools, weighted by their healthy pods. Every
 *    replica puts a workflow or a session in the same pool, and other calls spread over the
 *    pools in proportion to their capacity.
 *
 * Undefined when no pod belongs to a pool (static discovery): the scheduler then sees every pod.
 */
import { hashKey, rendezvousWeight } from './rendezvous.ts';

/** What the choice needs of a pod. */
export interface PoolMember {
  readonly id: string;
  readonly pools: readonly string[];
  readonly models: readonly string[];
  readonly healthy: boolean;
  readonly draining: boolean;
}

export interface PoolChoiceRequest {
  readonly model: string;
  /** The workflow's declared VllmPool: a name (same namespace as the Workflow) or `<namespace>/<name>`. */
  readonly poolRef: string | undefined;
  readonly pinnedPod: string | undefined;
  /** Keeps related calls in one pool: the workflow key, else the session key, else the request id. */
  readonly affinityKey: string;
}

/** The pool id for a call; a pool no pod has (a poolRef that serves nothing) yields no candidates. */
export function choosePool(pods: readonly PoolMember[], request: PoolChoiceRequest): string | undefined {
  if (!pods.some((p) => p.pools.length > 0)) return undefined;
  const serving = pods.filter((p) => p.models.includes(request.model));
  const capacity = healthyPodsByPool(serving, request.poolRef);
  // A poolRef that serves nothing: the call gets no candidates (404 / 503), never another pool.
  if (capacity.size === 0) return request.poolRef;
  const pinned = pinnedPool(serving, request.pinnedPod, capacity);
  if (pinned !== undefined) return pinned;
  const ids = [...capacity.keys()];
  if (ids.length === 1) return ids[0];
  const usable = ids.filter((id) => (capacity.get(id) ?? 0) > 0);
  return weightedRendezvous(request.affinityKey, usable.length > 0 ? usable : ids, capacity);
}

/** True when `poolId` is the pool a poolRef names. */
export function poolMatches(poolId: string, poolRef: string): boolean {
  return poolRef.includes('/') ? poolId === poolRef : poolId.slice(poolId.indexOf('/') + 1) === poolRef;
}

/** Healthy, not draining pods per pool (pools with none count 0), restricted to the poolRef. */
function healthyPodsByPool(serving: readonly PoolMember[], poolRef: string | undefined): Map<string, number> {
  const capacity = new Map<string, number>();
  for (const pod of serving) {
    for (const pool of pod.pools) {
      if (poolRef !== undefined && !poolMatches(pool, poolRef)) continue;
      const up = pod.healthy && !pod.draining ? 1 : 0;
      capacity.set(pool, (capacity.get(pool) ?? 0) + up);
    }
  }
  return capacity;
}

function pinnedPool(
  serving: readonly PoolMember[],
  pinnedPod: string | undefined,
  capacity: ReadonlyMap<string, number>,
): string | undefined {
  if (pinnedPod === undefined) return undefined;
  const pin = serving.find((p) => p.id === pinnedPod);
  if (!pin || !pin.healthy || pin.draining) return undefined;
  return [...pin.pools].sort().find((pool) => capacity.has(pool));
}

/**
 * Weighted rendezvous hashing (Schindelhauer and Schomaker): each pool scores
 * weight / −ln(u), u the key's uniform hash for the pool in (0,1); the highest wins. A pool's
 * share of keys is its weight over the total, and changing one pool's weight moves only keys
 * to or from that pool.
 */
function weightedRendezvous(
  key: string,
  ids: readonly string[],
  capacity: ReadonlyMap<string, number>,
): string {
  const keyHash = hashKey(key);
  let best = ids[0] as string;
  let bestScore = -Infinity;
  for (const id of [...ids].sort()) {
    const u = (rendezvousWeight(keyHash, id) + 0.5) / 2 ** 32;
    const score = Math.max(1, capacity.get(id) ?? 0) / -Math.log(u);
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
