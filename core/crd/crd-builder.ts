import { z } from 'zod';
import { vllmPoolStatusSchema, workflowStatusSchema } from '../resource-status.ts';
import { vllmPoolSpecSchema } from '../vllm-pool-spec.ts';
import { workflowSpecSchema } from '../workflow-spec.ts';

/**
 * Builds the CustomResourceDefinitions from core's zod schemas, so the CRD YAML in crds/ and
 * the TypeScript types can never drift (test/crds.test.ts regenerates and compares).
 */
export const GROUP = 'workflow-router.vllm.ai';
export const VERSION = 'v1alpha1';

type JsonSchema = { [key: string]: unknown };

/**
 * JSON Schema → Kubernetes structural schema: no `$schema`, no `additionalProperties: false`
 * (the apiserver prunes unknown fields instead), `additionalProperties` kept for maps.
 */
export function structural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(structural);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema as JsonSchema)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    out[key] = structural(value);
  }
  return out;
}

function openApi(schema: z.ZodType): JsonSchema {
  return structural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })) as JsonSchema;
}

function withValidations(schema: JsonSchema, rules: { rule: string; message: string }[]): JsonSchema {
  return { ...schema, 'x-kubernetes-validations': rules };
}

interface Names {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

function crd(
  names: Names,
  spec: JsonSchema,
  status: JsonSchema,
  columns: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[],
  description: string,
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { ...names, listKind: `${names.kind}List`, categories: ['workflow-router'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

export function workflowCrd() {
  const spec = openApi(workflowSpecSchema);
  const agents = (spec.properties as JsonSchema).agents as JsonSchema;
  (spec.properties as JsonSchema).agents = {
    ...agents,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
  };
  return crd(
    { kind: 'Workflow', plural: 'workflows', singular: 'workflow', shortNames: ['wf'] },
    withValidations(spec, [
      {
        rule: '!has(self.agents) || self.agents.all(a, !has(a.contextFrom) || a.contextFrom.all(f, self.agents.exists(b, b.name == f)))',
        message: 'every agents[].contextFrom entry must name a declared agent',
      },
      {
        rule: "!has(self.contextSharing) || self.contextSharing != 'selective' || (has(self.agents) && self.agents.exists(a, has(a.contextFrom) && size(a.contextFrom) > 0))",
        message: 'selective context sharing needs at least one agent with contextFrom',
      },
    ]),
    openApi(workflowStatusSchema),
    [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Pool', type: 'string', jsonPath: '.spec.poolRef' },
      { name: 'Pod', type: 'string', jsonPath: '.status.pinnedPod' },
      { name: 'Calls', type: 'integer', jsonPath: '.status.calls' },
      { name: 'Hit Rate', type: 'string', jsonPath: '.status.cacheHitRate' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    'A multi-agent workflow whose LLM calls the workflow-router pins to one vLLM pod.',
  );
}

export function vllmPoolCrd() {
  return crd(
    { kind: 'VllmPool', plural: 'vllmpools', singular: 'vllmpool', shortNames: ['vp'] },
    withValidations(openApi(vllmPoolSpecSchema), [
      {
        rule: 'size(self.selector.matchLabels) > 0',
        message: 'selector.matchLabels must not be empty: it would select every pod in the namespace',
      },
    ]),
    openApi(vllmPoolStatusSchema),
    [
      { name: 'Ready', type: 'string', jsonPath: '.status.ready' },
      { name: 'Models', type: 'string', jsonPath: '.status.modelsText' },
      { name: 'Logic', type: 'string', jsonPath: '.spec.routing.logic' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    'A pool of vLLM pods (selected by labels) that workflow-routers route to.',
  );
}

export const CRD_FILES = {
  'workflows.yaml': workflowCrd,
  'vllmpools.yaml': vllmPoolCrd,
} as const;
