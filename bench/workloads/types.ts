// What a workload is: a seeded, fully determined list of workflows, each a list of LLM calls
// grouped in stages (the calls of a stage run in parallel, stages one after the other).
// Message contents may refer to the output of an earlier call of the same workflow, which is
// how a client-managed conversation history is described without running anything.

export const WORKLOAD_NAMES = ['pipeline', 'fanout', 'multiround', 'control', 'skew'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export type ContextSharing = 'auto' | 'broadcast' | 'selective' | 'none';

/** A piece of a message: literal text, or the output text of call `outputOf` of the workflow. */
export type Part = string | { outputOf: number };

export interface MessageSpec {
  role: 'system' | 'user' | 'assistant';
  content: Part[];
}

export interface CallSpec {
  agent: string;
  messages: MessageSpec[];
  maxTokens: number;
}

export interface WorkflowSpec {
  id: string;
  /** Sent as workflow_metadata.context_sharing; every call of the workflow carries the metadata. */
  sharing: ContextSharing;
  calls: CallSpec[];
  /** Indexes into `calls`: each inner list runs in parallel, the lists run in order. */
  stages: number[][];
  /** Skew workload: one of the few hot workflows (reported apart from the background). */
  hot: boolean;
}

/** The knobs of every generator; each workload reads the ones it needs. */
export interface WorkloadParams {
  seed: number;
  /** Workflows in the sequence (W). */
  workflows: number;
  /** Agents per workflow (A). */
  agents: number;
  /** Rounds of conversation (multiround) or of fan-out (skew's hot workflows). */
  rounds: number;
  /** Tokens of each workflow's document. */
  docTokens: number;
  /** Tokens of one call's own instructions. */
  taskTokens: number;
  /** max_tokens of every call (the simulator always generates exactly that many). */
  outputTokens: number;
  /** Skew: hot workflows, at the head of the sequence. */
  hot: number;
  /** Skew: agents of one fan-out round of a hot workflow. */
  hotAgents: number;
}

export interface Workload {
  name: WorkloadName;
  params: WorkloadParams;
  workflows: WorkflowSpec[];
}

/** Calls in the whole workload. */
export function totalCalls(workflows: readonly WorkflowSpec[]): number {
  let n = 0;
  for (const w of workflows) n += w.calls.length;
  return n;
}
