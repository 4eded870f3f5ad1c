import { z } from 'zod';

/** Kubernetes condition shape (metav1.Condition). */
export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

/** Live status the operator writes onto a Workflow (printer columns read from it). */
export const workflowStatusSchema = z.object({
  phase: z.enum(['Pending', 'Active', 'Idle', 'Expired']).optional(),
  pool: z.string().optional(),
  pinnedPod: z.string().optional(),
  calls: z.number().int().optional(),
  errors: z.number().int().optional(),
  promptTokens: z.number().int().optional(),
  cachedTokens: z.number().int().optional(),
  cacheHitRate: z
    .string()
    .optional()
    .describe('Cached over prompt tokens, as a percentage string such as "87.5%".'),
  messages: z
    .object({ sent: z.number().int(), delivered: z.number().int(), refused: z.number().int() })
    .optional(),
  migrations: z.number().int().optional(),
  spills: z.number().int().optional(),
  agents: z
    .array(
      z.object({
        name: z.string(),
        calls: z.number().int(),
        cachedTokens: z.number().int(),
        promptTokens: z.number().int(),
        lastSeen: z.string().optional(),
      }),
    )
    .optional(),
  lastActivity: z.string().optional(),
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type WorkflowResourceStatus = z.infer<typeof workflowStatusSchema>;

/** Live status the operator writes onto a VllmPool. */
export const vllmPoolStatusSchema = z.object({
  readyPods: z.number().int().optional(),
  totalPods: z.number().int().optional(),
  ready: z.string().optional().describe('"ready/total", for the printer column.'),
  models: z.array(z.string()).optional(),
  modelsText: z.string().optional().describe('Comma-separated models, for the printer column.'),
  logic: z.string().optional(),
  pods: z
    .array(
      z.object({
        name: z.string(),
        ip: z.string().optional(),
        ready: z.boolean(),
        healthy: z.boolean(),
        running: z.number().optional(),
        waiting: z.number().optional(),
        kvUsage: z.number().optional(),
        prefixHitRate: z.number().optional(),
        pinnedWorkflows: z.number().int().optional(),
        reason: z.string().optional(),
      }),
    )
    .optional(),
  observedGeneration: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type VllmPoolResourceStatus = z.infer<typeof vllmPoolStatusSchema>;
