import { vllmPoolStatusSchema, type VllmPoolResourceStatus } from '../../core/resource-status.ts';
import { pinCountsIn } from '../../core/routing-table.ts';
import type { PinStore } from '../../core/store/state-store.ts';
import type { ReconcileResult } from '../controller.ts';
import type { ObjectCache } from '../informer.ts';
import type { Kube } from '../kube.ts';
import { errorMessage, type Logger } from '../logger.ts';
import type { OperatorMetrics } from '../metrics.ts';
import type { CustomResource } from '../resources.ts';
import { poolStatus, sameStatus, statusMergePatch } from '../status.ts';
import { StatusLimiter } from '../status-limiter.ts';
import type { PoolObservation } from './pods.ts';

export interface VllmPoolControllerDeps {
  kube: Pick<Kube, 'patchStatus'>;
  pools: ObjectCache<CustomResource>;
  observations: Map<string, PoolObservation>;
  pins: PinStore;
  logger: Logger;
  metrics: OperatorMetrics;
  statusIntervalMs: number;
  now?: () => number;
}

/**
 * The VllmPool's status: ready/total pods, models, logic, each pod's state and load, the
 * workflows pinned to it, and the Ready condition, from what the pods controller observed.
 * Patched only when it changed, at most once per status interval. Key: `namespace/name`.
 */
export class VllmPoolController {
  private readonly deps: VllmPoolControllerDeps;
  private readonly limiter: StatusLimiter<VllmPoolResourceStatus>;
  private readonly now: () => number;

  constructor(deps: VllmPoolControllerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.limiter = new StatusLimiter(deps.statusIntervalMs, this.now);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const pool = this.deps.pools.get(key);
    const observation = this.deps.observations.get(key);
    if (!pool || pool.metadata.deletionTimestamp) {
      this.limiter.forget(key);
      return {};
    }
    // The pods controller observes first; it enqueues this key when it has.
    if (!observation) return {};
    let pinCounts: Record<string, number> = {};
    try {
      pinCounts = await this.deps.pins.countsByPod();
    } catch (error) {
      this.deps.logger.debug('pin counts unavailable', { error: errorMessage(error) });
    }
    const stored = vllmPoolStatusSchema.safeParse(pool.status ?? {});
    const previous = this.limiter.written(key) ?? (stored.success ? stored.data : undefined);
    const next = poolStatus(
      {
        generation: pool.metadata.generation ?? 0,
        logic: observation.logic,
        specError: observation.specError,
        pods: observation.pods,
        models: observation.models,
        // Pins name pods `<namespace>/<pod>`; the status lists this namespace's pods by name.
        pinCounts: pinCountsIn(pool.metadata.namespace, pinCounts),
        now: this.now(),
      },
      previous,
    );
    if (sameStatus(previous, next)) return {};
    const wait = this.limiter.wait(key);
    if (wait > 0) return { requeueAfterMs: wait };
    await this.deps.kube.patchStatus(
      'vllmpools',
      pool.metadata.namespace,
      pool.metadata.name,
      statusMergePatch(previous, next),
    );
    this.limiter.wrote(key, next);
    this.deps.metrics.statusPatches.inc({ kind: 'VllmPool' });
    return {};
  }
}
