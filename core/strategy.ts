import { z } from 'zod';

/**
 * How a workflow shares context (DESIGN section 5):
 * none: tracked only; auto: pinned for KV reuse; broadcast: pinned and every agent's output is
 * prepended to later calls; selective: like broadcast, limited to the agents in context_from.
 */
export const CONTEXT_SHARING = ['auto', 'broadcast', 'selective', 'none'] as const;
export type ContextSharing = (typeof CONTEXT_SHARING)[number];
export const contextSharingSchema = z.enum(CONTEXT_SHARING);

/** Strategies that pin the workflow to one pod. */
export function pins(strategy: ContextSharing): boolean {
  return strategy !== 'none';
}

/** Strategies that put shared context in front of the prompt. */
export function sharesContext(strategy: ContextSharing): boolean {
  return strategy === 'broadcast' || strategy === 'selective';
}
