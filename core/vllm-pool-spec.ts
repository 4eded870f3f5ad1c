import { z } from 'zod';
import { ROUTING_LOGIC_NAMES } from './routing-logic.ts';

/**
 * The VllmPool resource's spec: which pods serve which models, and how the routers place
 * calls on them. The single source for the CRD schema and the operator's types.
 */
export const labelSelectorSchema = z
  .object({
    matchLabels: z
      .record(z.string(), z.string())
      .default({})
      .describe('Pods with all of these labels belong to the pool.'),
  })
  .strict();

/**
 * How the routers place calls within the pool. Every field is optional: one the pool leaves
 * unset takes the routers' flag (`--routing-logic`, `--batching-preference`,
 * `--max-inflight-per-pod`), so a fleet-wide default stays a router setting and a pool
 * overrides only what it says. No CRD defaults for that reason: a default written by the API
 * server could not be told from a value the user chose.
 */
export const poolRoutingSchema = z
  .object({
    logic: z
      .enum(ROUTING_LOGIC_NAMES)
      .optional()
      .describe("Routing logic for calls placed in this pool (unset: the routers' --routing-logic)."),
    batchingPreference: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "0..1: how much extra work a pinned pod may carry before calls spill (unset: the routers' --batching-preference).",
      ),
    maxWorkflowsPerPod: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Pods holding this many pinned workflows take no new ones while another pod of the pool has room (unset: no cap).',
      ),
    maxInflightPerPod: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "Calls in flight per pod (per router replica) before calls queue by workflow priority (unset: the routers' --max-inflight-per-pod).",
      ),
  })
  .strict();

export const poolHealthSchema = z
  .object({
    path: z.string().startsWith('/').default('/health').describe('HTTP path probed on each pod.'),
    periodSeconds: z
      .number()
      .int()
      .min(1)
      .max(300)
      .default(5)
      .describe('Seconds between probes and metric scrapes.'),
    timeoutSeconds: z.number().int().min(1).max(60).default(2).describe('Probe timeout.'),
    failureThreshold: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(1)
      .describe('Failed probes before a pod leaves the table.'),
  })
  .strict();

export const vllmPoolSpecSchema = z
  .object({
    selector: labelSelectorSchema.describe('Label selector of the vLLM pods (same namespace).'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .default(8000)
      .describe("Port of vLLM's OpenAI server on each pod."),
    models: z
      .array(z.string().min(1).max(256))
      .max(64)
      .default([])
      .describe("Models the pods serve; empty: discovered from each pod's /v1/models."),
    metricsPath: z
      .string()
      .startsWith('/')
      .default('/metrics')
      .describe('Prometheus metrics path on each pod.'),
    routing: poolRoutingSchema.default({}),
    health: poolHealthSchema.default({
      path: '/health',
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 1,
    }),
  })
  .strict();

export type VllmPoolSpec = z.infer<typeof vllmPoolSpecSchema>;
