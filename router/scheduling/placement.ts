/**
 * What a workflow_aware decision means for the workflow's pin, so the router knows whether to
 * pin, re-pin or leave the pin alone, and can count spills and migrations.
 */
import type { Decision, PodSnapshot } from './types.ts';

/**
 * - `new`: the workflow had no pin; claim the picked pod (first writer wins).
 * - `pinned`: the call went to its pin.
 * - `spill`: the pin is up but over the spill bound or at its in-flight cap; the call goes
 *   elsewhere this once and the pin stays.
 * - `migration`: the pin is unhealthy, draining or gone; move the pin to the picked pod.
 */
export type Placement = 'new' | 'pinned' | 'spill' | 'migration';

/**
 * Classifies a decision against the workflow's pin before the call. `pods` is the snapshot the
 * decision was made from, before filtering. Undefined when no pod was picked.
 */
export function classifyPlacement(
  pinnedPod: string | undefined,
  decision: Decision,
  pods: readonly PodSnapshot[],
): Placement | undefined {
  const picked = decision.pod;
  if (picked === undefined) return undefined;
  if (pinnedPod === undefined) return 'new';
  if (picked.id === pinnedPod) return 'pinned';
  for (const pod of pods) {
    if (pod.id === pinnedPod) return pod.healthy && !pod.draining ? 'spill' : 'migration';
  }
  return 'migration';
}
