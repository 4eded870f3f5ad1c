import { z } from 'zod';
import { ROUTING_LOGIC_NAMES } from './routing-logic.ts';

/**
 * The routing table the operator writes into Redis for `--service-discovery k8s` routers:
 * every pool's routable pods with health and load, as of the last probe. Routers re-read it
 * when the operator announces a change on pub/sub (and poll it as a safety net).
 */
export const routingPodSchema = z.object({
  /** The Pod's name; routers know it as `<pool namespace>/<name>` ({@link routingPodId}). */
  name: z.string(),
  url: z.string(),
  models: z.array(z.string()),
  ready: z.boolean(),
  healthy: z.boolean(),
  running: z.number(),
  waiting: z.number(),
  kvUsage: z.number(),
  /** Prefix-cache hits over queries since the previous scrape (0..1; 0 without queries). */
  prefixHitRate: z.number(),
  probedAt: z.number(),
});

export const routingPoolSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  models: z.array(z.string()),
  /**
   * The pool's `spec.routing`; a field left unset is absent, and the routers use their own flag
   * for it (`--routing-logic`, `--batching-preference`, `--max-inflight-per-pod`; no cap).
   */
  logic: z.enum(ROUTING_LOGIC_NAMES).optional(),
  batchingPreference: z.number().optional(),
  maxInflightPerPod: z.number().int().optional(),
  maxWorkflowsPerPod: z.number().int().optional(),
  pods: z.array(routingPodSchema),
});

export const routingTableSchema = z.object({
  /** Increases on every change; 0 for a table never written. */
  version: z.number().int(),
  updatedAt: z.number(),
  pools: z.array(routingPoolSchema),
});

export type RoutingPod = z.infer<typeof routingPodSchema>;
export type RoutingPool = z.infer<typeof routingPoolSchema>;
export type RoutingTable = z.infer<typeof routingTableSchema>;

/** How a pool is named inside the table: `<namespace>/<name>`. */
export function routingPoolId(pool: { namespace: string; name: string }): string {
  return `${pool.namespace}/${pool.name}`;
}

/**
 * How routers name a pod of the table: `<namespace>/<pod name>`. Pod names are unique only within
 * a namespace, and this id is what pins, pin counts and metrics carry, so two namespaces with a
 * pod `vllm-0` never share one. (A pool selects pods of its own namespace only.)
 */
export function routingPodId(pool: { namespace: string }, pod: { name: string }): string {
  return `${pool.namespace}/${pod.name}`;
}

/**
 * A pod id as a resource in `namespace` shows it: the bare pod name when the pod is in that
 * namespace (the usual case, and what `kubectl get pods` shows), else the whole id.
 */
export function podIdIn(namespace: string, podId: string): string {
  const own = `${namespace}/`;
  return podId.startsWith(own) ? podId.slice(own.length) : podId;
}

/** The pin counts (by pod id) of the pods of one namespace, by pod name. */
export function pinCountsIn(
  namespace: string,
  counts: Readonly<Record<string, number>>,
): Record<string, number> {
  const own = `${namespace}/`;
  const result: Record<string, number> = {};
  for (const [id, n] of Object.entries(counts)) if (id.startsWith(own)) result[id.slice(own.length)] = n;
  return result;
}

/** A change to the table: pools written whole (replacing their previous entry) and pools removed. */
export interface RoutingTableChange {
  put?: readonly RoutingPool[];
  /** Pool ids (`routingPoolId`). */
  remove?: readonly string[];
}

/** The table's version after an update, and whether the update changed anything. */
export interface RoutingTableUpdate {
  version: number;
  changed: boolean;
}

/**
 * Where the routing table lives. The operator writes it (one writer: the elected leader),
 * every router replica reads it and listens for announcements.
 */
export interface RoutingTableStore {
  /** The whole table, consistent as of one version. */
  read(): Promise<RoutingTable>;
  /**
   * Applies a change atomically. Pools whose entry is unchanged are skipped; when anything
   * changed the version increases and the new version is announced.
   */
  update(change: RoutingTableChange, now: number): Promise<RoutingTableUpdate>;
  /**
   * Calls `listener` with each announced version, and with `undefined` whenever the
   * subscription (re)connects (announcements may have been missed: re-read). Returns the
   * unsubscribe function.
   */
  subscribe(listener: (version: number | undefined) => void): () => void;
  close(): Promise<void>;
}
