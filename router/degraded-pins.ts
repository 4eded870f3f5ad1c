import { keyString, type WorkflowKey } from '../core/ids.ts';
import type { StateStore, WorkflowInit } from '../core/store/state-store.ts';
import type { Logger } from './logger.ts';
import { rendezvousPick } from './scheduling/rendezvous.ts';
import type { PodSnapshot } from './scheduling/types.ts';

/**
 * Pins made while the shared store is unreachable. Each is the rendezvous-hash choice of the
 * workflow over the healthy pods, so every replica makes the same choice without talking to
 * the others; when the store returns they are claimed there (first writer still wins).
 */
export class DegradedPins {
  private readonly pins = new Map<string, { key: WorkflowKey; pod: string; init: WorkflowInit }>();

  get size(): number {
    return this.pins.size;
  }

  /** The pod for a workflow while degraded: its earlier degraded pin if still usable, else the hash's choice. */
  pick(key: WorkflowKey, candidates: readonly PodSnapshot[], init: WorkflowInit): PodSnapshot | undefined {
    const id = keyString(key);
    const earlier = this.pins.get(id);
    const kept = earlier && candidates.find((p) => p.id === earlier.pod);
    if (kept) return kept;
    const chosen = rendezvousPick(id, candidates);
    if (chosen) this.pins.set(id, { key, pod: chosen.id, init });
    return chosen;
  }

  /** Writes the degraded pins into the recovered store; returns how many were claimed as made. */
  async reconcile(store: StateStore, maxWorkflows: number, logger: Logger): Promise<number> {
    let kept = 0;
    for (const [id, pin] of [...this.pins]) {
      try {
        await store.workflows.ensure(pin.key, pin.init, Date.now(), maxWorkflows);
        const claim = await store.pins.claim(pin.key, pin.pod);
        if (claim.won || claim.pod === pin.pod) kept += 1;
        this.pins.delete(id);
      } catch (error) {
        logger.warn('pin reconciliation paused: store unavailable again', { error: String(error) });
        return kept;
      }
    }
    if (kept > 0) logger.info('pins made while degraded written to the store', { pins: kept });
    return kept;
  }
}
