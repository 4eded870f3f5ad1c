/**
 * Workflow identity on LLM calls: the `workflow_metadata` body field, or the X-Workflow-*
 * headers for clients that cannot add body fields. Works with the official `openai` client
 * (a whole client, or one call) and with anything that lets you set headers or extra body
 * fields (LangChain's ChatOpenAI, AutoGen, plain fetch).
 */
import { ID_PATTERN } from '../core/ids.ts';
import { WORKFLOW_HEADERS } from '../core/metadata.ts';
import type { ContextSharing } from '../core/strategy.ts';

export type { ContextSharing };

/** Which workflow and agent a call belongs to (camelCase; sent as snake_case or headers). */
export interface WorkflowMetadata {
  workflowId: string;
  agentId?: string;
  /** 0..100: higher is admitted first when a pod is saturated. */
  priority?: number;
  contextSharing?: ContextSharing;
  /** Agents whose outputs a `selective` agent receives. */
  contextFrom?: readonly string[];
}

/** The body form, as the router reads it. */
export interface WorkflowMetadataBody {
  workflow_id: string;
  agent_id?: string;
  workflow_priority?: number;
  context_sharing?: ContextSharing;
  context_from?: string[];
}

/** The fetch signature the openai client and the global fetch share. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function checkId(value: string, what: string): void {
  if (!ID_PATTERN.test(value)) {
    throw new TypeError(`${what} ${JSON.stringify(value)} must match ${String(ID_PATTERN)}`);
  }
}

function check(meta: WorkflowMetadata): void {
  checkId(meta.workflowId, 'workflowId');
  if (meta.agentId !== undefined) checkId(meta.agentId, 'agentId');
  for (const agent of meta.contextFrom ?? []) checkId(agent, 'contextFrom entry');
  if (meta.priority !== undefined && !(meta.priority >= 0 && meta.priority <= 100)) {
    throw new RangeError(`priority must be a number in [0, 100], got ${meta.priority}`);
  }
}

/** `workflow_metadata` for a request body. */
export function workflowMetadataBody(meta: WorkflowMetadata): WorkflowMetadataBody {
  check(meta);
  return {
    workflow_id: meta.workflowId,
    ...(meta.agentId !== undefined ? { agent_id: meta.agentId } : {}),
    ...(meta.priority !== undefined ? { workflow_priority: meta.priority } : {}),
    ...(meta.contextSharing !== undefined ? { context_sharing: meta.contextSharing } : {}),
    ...(meta.contextFrom !== undefined ? { context_from: [...meta.contextFrom] } : {}),
  };
}

/**
 * A copy of a request body with `workflow_metadata` added; the openai client passes unknown
 * body fields through:
 * `client.chat.completions.create(withWorkflowMetadata({ model, messages }, { workflowId, agentId }))`.
 */
export function withWorkflowMetadata<B extends object>(
  body: B,
  meta: WorkflowMetadata,
): B & { workflow_metadata: WorkflowMetadataBody } {
  return { ...body, workflow_metadata: workflowMetadataBody(meta) };
}

/**
 * The X-Workflow-* headers: `new OpenAI({ defaultHeaders: workflowHeaders(meta) })` for a
 * client, `create(body, { headers: workflowHeaders(meta) })` for one call.
 */
export function workflowHeaders(meta: WorkflowMetadata): Record<string, string> {
  check(meta);
  const headers: Record<string, string> = { [WORKFLOW_HEADERS.workflowId]: meta.workflowId };
  if (meta.agentId !== undefined) headers[WORKFLOW_HEADERS.agentId] = meta.agentId;
  if (meta.priority !== undefined) headers[WORKFLOW_HEADERS.priority] = String(meta.priority);
  if (meta.contextSharing !== undefined) headers[WORKFLOW_HEADERS.strategy] = meta.contextSharing;
  if (meta.contextFrom !== undefined) headers[WORKFLOW_HEADERS.contextFrom] = meta.contextFrom.join(',');
  return headers;
}

/**
 * A fetch that adds the workflow headers to every request that does not set them already, so
 * a call's own headers still win.
 */
export function workflowFetch(meta: WorkflowMetadata, baseFetch: Fetch = fetch): Fetch {
  const extra = workflowHeaders(meta);
  return (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    for (const [name, value] of Object.entries(extra)) if (!headers.has(name)) headers.set(name, value);
    return baseFetch(input, { ...init, headers });
  };
}

/** Anything with the openai client's `withOptions` (the official client, v5 and later). */
export interface OptionsClient<C> {
  withOptions(options: { fetch?: Fetch }): C;
}

/**
 * A copy of an openai client whose every call carries the workflow's metadata (as headers);
 * the original client is unchanged and its default headers are kept. Pass `fetch` if the client
 * was built with a custom one.
 *
 *   const analyst = withWorkflow(openai, { workflowId: 'fin-1', agentId: 'analyst' });
 */
export function withWorkflow<C extends OptionsClient<C>>(
  client: C,
  meta: WorkflowMetadata,
  options: { fetch?: Fetch } = {},
): C {
  return client.withOptions({ fetch: workflowFetch(meta, options.fetch) });
}
