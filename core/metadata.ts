import { z } from 'zod';
import { idSchema } from './ids.ts';
import { contextSharingSchema, type ContextSharing } from './strategy.ts';

/** Per-call workflow identity, from the body's `workflow_metadata` or the X-Workflow-* headers. */
export interface WorkflowMetadata {
  workflowId: string;
  agentId: string | undefined;
  priority: number | undefined;
  strategy: ContextSharing | undefined;
  contextFrom: string[] | undefined;
  parentRequestId: string | undefined;
}

const prioritySchema = z.number().finite().min(0).max(100);

/**
 * The body form. `context_sharing_strategy` is accepted as an alias of `context_sharing`
 * because earlier clients of workflow routers send that name.
 */
export const workflowMetadataBodySchema = z
  .object({
    workflow_id: idSchema.optional(),
    agent_id: idSchema.optional(),
    workflow_priority: prioritySchema.optional(),
    context_sharing: contextSharingSchema.optional(),
    context_sharing_strategy: contextSharingSchema.optional(),
    context_from: z.array(idSchema).max(64).optional(),
    parent_request_id: z.string().max(256).nullable().optional(),
  })
  .strict();

export type WorkflowMetadataBody = z.infer<typeof workflowMetadataBodySchema>;

export const WORKFLOW_HEADERS = {
  workflowId: 'x-workflow-id',
  agentId: 'x-agent-id',
  priority: 'x-workflow-priority',
  strategy: 'x-context-sharing',
  contextFrom: 'x-context-from',
} as const;

const headerMetadataSchema = z.object({
  workflow_id: idSchema.optional(),
  agent_id: idSchema.optional(),
  workflow_priority: z
    .string()
    .trim()
    .regex(/^[0-9]+(\.[0-9]+)?$/, 'must be a number in [0, 100]')
    .transform(Number)
    .pipe(prioritySchema)
    .optional(),
  context_sharing: contextSharingSchema.optional(),
  context_from: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== ''),
    )
    .pipe(z.array(idSchema).max(64))
    .optional(),
});

export type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Raw header values, undefined when the call carries no workflow headers. */
export function headerMetadataInput(headers: HeaderBag): Record<string, string | undefined> | undefined {
  const workflowId = header(headers, WORKFLOW_HEADERS.workflowId);
  const other = [WORKFLOW_HEADERS.agentId, WORKFLOW_HEADERS.priority, WORKFLOW_HEADERS.strategy].some(
    (h) => header(headers, h) !== undefined,
  );
  if (workflowId === undefined && !other) return undefined;
  return {
    workflow_id: workflowId,
    agent_id: header(headers, WORKFLOW_HEADERS.agentId),
    workflow_priority: header(headers, WORKFLOW_HEADERS.priority),
    context_sharing: header(headers, WORKFLOW_HEADERS.strategy)?.trim().toLowerCase(),
    context_from: header(headers, WORKFLOW_HEADERS.contextFrom),
  };
}

export type MetadataResult =
  { ok: true; metadata: WorkflowMetadata | undefined } | { ok: false; message: string; param: string };

function issueResult(error: z.ZodError, prefix: string): MetadataResult {
  const issue = error.issues[0];
  const path = issue ? issue.path.map(String).join('.') : '';
  const param = path ? `${prefix}.${path}` : prefix;
  return { ok: false, message: `${param}: ${issue?.message ?? 'invalid'}`, param };
}

/**
 * Reads workflow metadata from a parsed body and the request headers. The body wins field by
 * field where both are present, so a client can set the workflow in headers and the agent in
 * the body.
 */
export function readWorkflowMetadata(body: Record<string, unknown>, headers: HeaderBag): MetadataResult {
  const rawHeaders = headerMetadataInput(headers);
  const rawBody = body.workflow_metadata;
  if (rawBody === undefined && rawHeaders === undefined) return { ok: true, metadata: undefined };

  let fromHeaders: z.infer<typeof headerMetadataSchema> | undefined;
  if (rawHeaders) {
    const parsed = headerMetadataSchema.safeParse(rawHeaders);
    if (!parsed.success) return issueResult(parsed.error, 'headers');
    fromHeaders = parsed.data;
  }
  let fromBody: WorkflowMetadataBody | undefined;
  if (rawBody !== undefined && rawBody !== null) {
    const parsed = workflowMetadataBodySchema.safeParse(rawBody);
    if (!parsed.success) return issueResult(parsed.error, 'workflow_metadata');
    fromBody = parsed.data;
  }
  const workflowId = fromBody?.workflow_id ?? fromHeaders?.workflow_id;
  if (workflowId === undefined) {
    return {
      ok: false,
      message: 'workflow_metadata.workflow_id: required (in the body or the X-Workflow-Id header)',
      param: 'workflow_metadata.workflow_id',
    };
  }
  return {
    ok: true,
    metadata: {
      workflowId,
      agentId: fromBody?.agent_id ?? fromHeaders?.agent_id,
      priority: fromBody?.workflow_priority ?? fromHeaders?.workflow_priority,
      strategy:
        fromBody?.context_sharing ?? fromBody?.context_sharing_strategy ?? fromHeaders?.context_sharing,
      contextFrom: fromBody?.context_from ?? fromHeaders?.context_from,
      parentRequestId: fromBody?.parent_request_id ?? undefined,
    },
  };
}
