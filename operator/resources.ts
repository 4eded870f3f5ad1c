import { z } from 'zod';
import { GROUP, VERSION } from '../core/crd/crd-builder.ts';
import { DEFAULT_TENANT, ID_PATTERN, type WorkflowKey } from '../core/ids.ts';

/**
 * The shapes of the Kubernetes objects the operator reads, validated at the edge: watch
 * events arrive as plain JSON, typed lists as client-node models (timestamps as Dates), so
 * everything goes through these schemas before a controller sees it. Unknown fields are
 * dropped, which also keeps the informer caches small. Specs stay `unknown` here: a resource
 * with a bad spec must still be seen, so its controller can say what is wrong.
 */
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FINALIZER = 'workflow-router.vllm.ai/cleanup';
export const TENANT_LABEL = 'workflow-router.vllm.ai/tenant';

const timestamp = z.union([z.string(), z.date()]);

export const objectMetaSchema = z.object({
  name: z.string(),
  namespace: z.string().default(''),
  uid: z.string().default(''),
  resourceVersion: z.string().optional(),
  generation: z.number().int().optional(),
  /** Orders Workflows that claim one Redis id: the oldest owns it. */
  creationTimestamp: timestamp.optional().nullable(),
  labels: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  deletionTimestamp: timestamp.optional().nullable(),
});
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

/** A VllmPool or Workflow as stored: metadata validated, spec and status as they came. */
export const customResourceSchema = z.object({
  apiVersion: z.string().default(API_VERSION),
  kind: z.string().default(''),
  metadata: objectMetaSchema,
  spec: z.unknown().optional(),
  status: z.unknown().optional(),
});
export type CustomResource = z.infer<typeof customResourceSchema>;

export const podSchema = z.object({
  metadata: objectMetaSchema,
  status: z
    .object({
      phase: z.string().optional().nullable(),
      podIP: z.string().optional().nullable(),
      conditions: z
        .array(z.object({ type: z.string(), status: z.string() }))
        .optional()
        .nullable(),
    })
    .optional()
    .nullable(),
});
export type PodObject = z.infer<typeof podSchema>;

/** What keeps a pod out of the routing table before any probe, or undefined when it may serve. */
export function podNotServingReason(pod: PodObject): string | undefined {
  if (pod.metadata.deletionTimestamp) return 'terminating';
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running') return `phase ${phase}`;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return 'not ready';
  if (!pod.status?.podIP) return 'no pod IP';
  return undefined;
}

/** True when every label of `matchLabels` is on the pod (an empty selector selects nothing). */
export function selects(
  matchLabels: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(matchLabels);
  if (wanted.length === 0) return false;
  return wanted.every(([k, v]) => labels?.[k] === v);
}

/** `namespace/name`: the key of an object in the work queues. */
export function objectKey(meta: { namespace: string; name: string }): string {
  return `${meta.namespace}/${meta.name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Creation time in epoch ms (Infinity when unknown: such an object is the youngest). */
export function createdAtMs(meta: ObjectMeta): number {
  const at = meta.creationTimestamp;
  if (at === undefined || at === null) return Infinity;
  const ms = at instanceof Date ? at.getTime() : Date.parse(at);
  return Number.isNaN(ms) ? Infinity : ms;
}

/**
 * The router-side identity of a Workflow resource: tenant from its label (default
 * `default`), id = the resource's name (a valid workflow id: RFC 1123 names always are).
 */
export function workflowKeyOf(meta: ObjectMeta): WorkflowKey {
  const label = meta.labels?.[TENANT_LABEL];
  const tenant = label !== undefined && ID_PATTERN.test(label) ? label : DEFAULT_TENANT;
  return { tenant, id: meta.name };
}
