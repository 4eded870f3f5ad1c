import { z } from 'zod';
import { ROUTING_LOGIC_NAMES } from './routing-logic.ts';

/**
 * The routing table the operator writes into Redis for `--service-discovery k8s` routers:
 * every pool's pods with health and load, as of the last probe. Routers re-read it when the
 * operator announces a change on pub/sub.
 */
export const routingPodSchema = z.object({
  name: z.string(),
  url: z.string(),
  models: z.array(z.string()),
  ready: z.boolean(),
  healthy: z.boolean(),
  running: z.number(),
  waiting: z.number(),
  kvUsage: z.number(),
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
  version: z.number().int(),
  updatedAt: z.number(),
  pools: z.array(routingPoolSchema),
});

export type RoutingPod = z.infer<typeof routingPodSchema>;
export type RoutingPool = z.infer<typeof routingPoolSchema>;
export type RoutingTable = z.infer<typeof routingTableSchema>;
