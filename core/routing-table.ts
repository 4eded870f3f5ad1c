import { z } from 'zod';
import { ROUTING_LOGIC_NAMES } from './routing-logic.ts';

/**
 * The routing table the operator writes into Redis for `--service-discovery k8s` routers:
 * every pool's routable pods with health and load, as of the last probe. Routers re-read it
 * when the operator announces a change on pub/sub (and poll it as a safety net).
 */
export const routingPodSchema = z.object({
  /** The Pod's name: the id routers pin workflows to. */
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
  logic: z.enum(ROUTING_LOGIC_NAMES),
  batchingPreference: z.number(),
  maxInflightPerPod: z.number().int(),
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
