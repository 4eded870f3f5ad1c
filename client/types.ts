/** The router's JSON answers, as the client returns them (snake_case, like the HTTP API). */
import type { z } from 'zod';
import type { workflowSpecSchema } from '../core/workflow-spec.ts';
import type { WorkflowStatusView } from '../core/workflow-status.ts';

/** `PUT /v1/workflows/{id}`: the Workflow resource's spec (camelCase; defaults filled in). */
export type WorkflowDeclaration = z.input<typeof workflowSpecSchema>;

/** `GET /v1/workflows/{id}/status`. */
export type WorkflowStatus = WorkflowStatusView;

/** One agent message. `payload` is whatever JSON the sender sent: validate it before use. */
export interface AgentMessage {
  id: string;
  from_agent: string;
  to_agent: string;
  payload: unknown;
  created_at: string;
  expires_at: string;
}

/** A cursor read: pass `next_cursor` as `after` to read on. */
export interface MessagePage {
  data: AgentMessage[];
  next_cursor: string | null;
}

export interface SentMessage {
  object: 'workflow.message';
  id: string;
  workflow_id: string;
  to_agent: string;
  from_agent: string;
}

export interface BroadcastResult {
  object: 'workflow.broadcast';
  workflow_id: string;
  /** Message id per recipient. */
  ids: Record<string, string>;
  /** Recipients whose inbox was full. */
  refused: string[];
}

export interface PodStats {
  id: string;
  url: string;
  models: string[];
  healthy: boolean;
  down_reason: string | null;
  inflight: number;
  queued: number;
  running: number;
  waiting: number;
  kv_usage: number;
  pinned_workflows: number;
}

/** `GET /v1/workflows/stats`. */
export interface WorkflowStats {
  object: 'workflow.stats';
  routing_logic: string;
  store: string;
  workflows: { live: number; evicted: number; expired: number };
  calls: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  cache_hit_rate: number;
  migrations: number;
  spills: number;
  messages: { sent: number; delivered: number; refused: number };
  pods: PodStats[];
}
