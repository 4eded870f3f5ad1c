import { z } from 'zod';
import { idSchema } from './ids.ts';
import { contextSharingSchema } from './strategy.ts';

/**
 * A workflow's declaration: the spec of the Workflow custom resource and the body of
 * `PUT /v1/workflows/{id}`. One schema, so the two can never disagree.
 */
export const agentDeclarationSchema = z
  .object({
    name: idSchema.describe('Agent id, as sent in workflow_metadata.agent_id or X-Agent-Id.'),
    contextFrom: z
      .array(idSchema)
      .max(64)
      .default([])
      .describe('Agents whose outputs this agent receives under selective context sharing.'),
  })
  .strict();

/** A Kubernetes object name (RFC 1123 label), as a regular expression fragment. */
const KUBE_NAME = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

/**
 * A VllmPool reference: `name` (the pool in the Workflow's own namespace) or `namespace/name`.
 * The operator mirrors it into Redis always qualified, so the routers, which see pools of every
 * namespace, pick the right one when two namespaces have a pool of that name.
 */
export const poolRefSchema = z
  .string()
  .min(1)
  .max(127)
  .regex(
    new RegExp(`^(${KUBE_NAME}/)?${KUBE_NAME}$`),
    'must be a lowercase RFC 1123 name, or namespace/name',
  );

/** The pool id (`namespace/name`) a poolRef names, read from a Workflow in `namespace`. */
export function qualifyPoolRef(namespace: string, poolRef: string): string {
  return poolRef.includes('/') ? poolRef : `${namespace}/${poolRef}`;
}

export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

export const workflowSpecSchema = z
  .object({
    poolRef: poolRefSchema
      .optional()
      .describe(
        'The VllmPool that serves this workflow: its name (same namespace) or namespace/name. Its calls go to that pool only.',
      ),
    ttlSeconds: z
      .number()
      .int()
      .min(MIN_TTL_SECONDS)
      .max(MAX_TTL_SECONDS)
      .optional()
      .describe("Idle seconds after which the workflow expires (default: the router's --workflow-ttl)."),
    priority: z
      .number()
      .min(0)
      .max(100)
      .default(50)
      .describe('0..100; calls of higher-priority workflows are admitted first when a pod is saturated.'),
    contextSharing: contextSharingSchema
      .default('auto')
      .describe('auto (pin only), broadcast, selective (share outputs) or none (no pin).'),
    agents: z
      .array(agentDeclarationSchema)
      .max(256)
      .default([])
      .describe('Declared agents; when set, calls and messages of other agents are refused (403).'),
    maxMessageQueueSize: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe("Unexpired messages an agent's inbox holds before refusing (default: the router's flag)."),
  })
  .strict();

export type WorkflowSpec = z.infer<typeof workflowSpecSchema>;
export type AgentDeclaration = z.infer<typeof agentDeclarationSchema>;

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Accepts the HTTP API's snake_case spelling (`context_from`, `ttl_seconds`) as well. */
export function normalizeSpecKeys(input: unknown): unknown {
  if (Array.isArray(input)) return input.map(normalizeSpecKeys);
  if (input === null || typeof input !== 'object') return input;
  return Object.fromEntries(Object.entries(input).map(([k, v]) => [camelCase(k), normalizeSpecKeys(v)]));
}

/** The agents an agent receives shared context from, per its declaration (undefined: not declared). */
export function declaredContextFrom(
  spec: WorkflowSpec | undefined,
  agent: string | undefined,
): string[] | undefined {
  if (!spec || agent === undefined) return undefined;
  return spec.agents.find((a) => a.name === agent)?.contextFrom;
}
