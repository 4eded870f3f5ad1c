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

export const poolRoutingSchema = z
  .object({
    logic: z
      .enum(ROUTING_LOGIC_NAMES)
      .default('workflow_aware')
      .describe('Routing logic the routers use for this pool.'),
    batchingPreference: z
      .number()
      .min(0)
      .max(1)
      .default(0.8)
      .describe('0..1: how much extra work a pinned pod may carry before calls spill.'),
    maxWorkflowsPerPod: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Pods holding this many pinned workflows take no new ones (unset: no cap).'),
    maxInflightPerPod: z
      .number()
      .int()
      .min(1)
      .default(256)
      .describe('Calls in flight per pod before calls queue by workflow priority.'),
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
    routing: poolRoutingSchema.default({
      logic: 'workflow_aware',
      batchingPreference: 0.8,
      maxInflightPerPod: 256,
    }),
    health: poolHealthSchema.default({
      path: '/health',
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 1,
    }),
  })
  .strict();

export type VllmPoolSpec = z.infer<typeof vllmPoolSpecSchema>;
