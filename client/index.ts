/**
 * `workflow-router/client`: tag LLM calls with workflow metadata (openai client, one call, or
 * headers for any client) and use the router's workflow and message API with types.
 * README.md beside this file has examples.
 */
export { WorkflowRouterClient } from './router-client.ts';
export type {
  BatchMessage,
  ReadOptions,
  SendOptions,
  StreamOptions,
  WorkflowRouterClientOptions,
} from './router-client.ts';
export {
  withWorkflow,
  withWorkflowMetadata,
  workflowFetch,
  workflowHeaders,
  workflowMetadataBody,
} from './metadata.ts';
export type {
  ContextSharing,
  Fetch,
  OptionsClient,
  WorkflowMetadata,
  WorkflowMetadataBody,
} from './metadata.ts';
export { WorkflowRouterError } from './errors.ts';
export { readSse, SseParser } from './sse.ts';
export type { SseEvent } from './sse.ts';
export type {
  AgentMessage,
  BroadcastResult,
  MessagePage,
  PodStats,
  SentMessage,
  WorkflowDeclaration,
  WorkflowStats,
  WorkflowStatus,
} from './types.ts';
