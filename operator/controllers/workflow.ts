import { isDeepStrictEqual } from 'node:util';
import { keyString, type WorkflowKey } from '../../core/ids.ts';
import { workflowStatusSchema, type WorkflowResourceStatus } from '../../core/resource-status.ts';
import type { WorkflowRecord } from '../../core/store/records.ts';
import type { WorkflowStore } from '../../core/store/state-store.ts';
import { qualifyPoolRef, workflowSpecSchema, type WorkflowSpec } from '../../core/workflow-spec.ts';
import type { ReconcileResult } from '../controller.ts';
import type { EventSink, InvolvedObject } from '../events.ts';
import type { ObjectCache } from '../informer.ts';
import type { Kube } from '../kube.ts';
import { errorMessage, type Logger } from '../logger.ts';
import type { OperatorMetrics } from '../metrics.ts';
import {
  API_VERSION,
  createdAtMs,
  FINALIZER,
  objectKey,
  workflowKeyOf,
  type CustomResource,
} from '../resources.ts';
import { hasLived, sameStatus, statusMergePatch, workflowEvents, workflowStatus } from '../status.ts';
import { StatusLimiter } from '../status-limiter.ts';

export interface WorkflowControllerDeps {
  kube: Pick<Kube, 'patchStatus' | 'setFinalizers'>;
  workflows: ObjectCache<CustomResource>;
  pools: ObjectCache<CustomResource>;
  store: Pick<WorkflowStore, 'get' | 'declare' | 'delete'>;
  events: EventSink;
  logger: Logger;
  metrics: OperatorMetrics;
  statusIntervalMs: number;
  /** Idle ttl of Workflows without spec.ttlSeconds. */
  workflowTtlSeconds: number;
  now?: () => number;
}

/**
 * A Workflow resource and its Redis state: keeps the finalizer on it, mirrors its spec into
 * Redis (declared agents, contextFrom, strategy, ttl, priority, queue size; the routers
 * enforce them), reads the live record back each status interval and patches the status
 * when it changed, with Events for the first pin, migrations and expiry. On delete, removes
 * the Redis state, then the finalizer. Key: `namespace/name`.
 *
 * A Workflow's Redis id is (tenant, name): tenant from its label, name without the namespace,
 * which is what clients send (`workflow_id`). Two Workflows that map to one id (same name and
 * tenant, two namespaces) are never merged: the oldest (creationTimestamp, then namespace
 * order) owns the id; the others stay undeclared with `Ready=False IdConflict` and their
 * deletion leaves the owner's state alone. When the owner goes, the next one takes the id.
 */
export class WorkflowController {
  private readonly deps: WorkflowControllerDeps;
  private readonly limiter: StatusLimiter<WorkflowResourceStatus>;
  private readonly now: () => number;
  /** Per workflow, the pod its pin left last: names the origin of a migration counted late. */
  private readonly pinBefore = new Map<string, string>();

  constructor(deps: WorkflowControllerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.limiter = new StatusLimiter(deps.statusIntervalMs, this.now);
  }

  /** The Workflows (keys) that name a pool, for re-checking their Ready condition when it changes. */
  referencing(namespace: string, pool: string): string[] {
    const id = objectKey({ namespace, name: pool });
    return this.deps.workflows
      .list()
      .filter((wf) => {
        const spec = workflowSpecSchema.safeParse(wf.spec);
        return (
          spec.success &&
          spec.data.poolRef !== undefined &&
          qualifyPoolRef(wf.metadata.namespace, spec.data.poolRef) === id
        );
      })
      .map((wf) => objectKey(wf.metadata));
  }

  /** The other Workflows (keys) that map to this one's Redis id: one may take the id when this one goes. */
  sharingId(wf: CustomResource): string[] {
    const key = objectKey(wf.metadata);
    return this.claimants(workflowKeyOf(wf.metadata))
      .map((other) => objectKey(other.metadata))
      .filter((other) => other !== key);
  }

  /** The Workflows that map to a Redis id, the owner first: oldest, then by namespace/name. */
  private claimants(wkey: WorkflowKey): CustomResource[] {
    return this.deps.workflows
      .list()
      .filter((wf) => keyString(workflowKeyOf(wf.metadata)) === keyString(wkey))
      .sort(
        (a, b) =>
          createdAtMs(a.metadata) - createdAtMs(b.metadata) ||
          objectKey(a.metadata).localeCompare(objectKey(b.metadata)),
      );
  }

  /** The Workflow (key) that owns this one's Redis id, when it is another one. */
  private ownerOtherThan(key: string, wkey: WorkflowKey): string | undefined {
    const owner = this.claimants(wkey)[0];
    const ownerKey = owner === undefined ? undefined : objectKey(owner.metadata);
    return ownerKey === key ? undefined : ownerKey;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { kube, store } = this.deps;
    const wf = this.deps.workflows.get(key);
    if (!wf) {
      this.limiter.forget(key);
      this.pinBefore.delete(key);
      return {};
    }
    const meta = wf.metadata;
    const finalizers = meta.finalizers ?? [];
    const wkey = workflowKeyOf(meta);
    const conflict = this.ownerOtherThan(key, wkey);
    if (meta.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return {};
      // The Redis state belongs to the owner of the id: a conflicting Workflow leaves it alone.
      if (conflict === undefined) await store.delete(wkey);
      await kube.setFinalizers(
        'workflows',
        meta.namespace,
        meta.name,
        finalizers.filter((f) => f !== FINALIZER),
        meta.resourceVersion,
      );
      this.limiter.forget(key);
      this.pinBefore.delete(key);
      this.deps.logger.info('workflow deleted; its Redis state removed', {
        workflow: key,
        id: keyString(wkey),
      });
      return {};
    }
    if (!finalizers.includes(FINALIZER)) {
      await kube.setFinalizers(
        'workflows',
        meta.namespace,
        meta.name,
        [...finalizers, FINALIZER],
        meta.resourceVersion,
      );
    }

    const involved: InvolvedObject = {
      apiVersion: API_VERSION,
      kind: 'Workflow',
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
    };
    const generation = meta.generation ?? 0;
    const stored = workflowStatusSchema.safeParse(wf.status ?? {});
    const previous = this.limiter.written(key) ?? (stored.success && wf.status ? stored.data : undefined);
    const parsed = workflowSpecSchema.safeParse(wf.spec);
    const spec = parsed.success ? parsed.data : undefined;
    let record: WorkflowRecord | undefined;
    let storeError: string | undefined;
    if (spec && conflict === undefined) {
      try {
        record = await this.mirror(wkey, forRedis(spec, meta.namespace), previous, generation, involved);
      } catch (error) {
        storeError = errorMessage(error);
      }
    }
    const poolRef = spec?.poolRef;
    const next = workflowStatus(
      {
        generation,
        spec,
        specError: parsed.success
          ? undefined
          : parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
        record,
        storeError,
        conflict,
        poolExists:
          poolRef === undefined || this.deps.pools.get(qualifyPoolRef(meta.namespace, poolRef)) !== undefined,
        namespace: meta.namespace,
        now: this.now(),
      },
      previous,
    );
    const requeue = { requeueAfterMs: this.deps.statusIntervalMs };
    if (sameStatus(previous, next)) return requeue;
    const wait = this.limiter.wait(key);
    if (wait > 0) return { requeueAfterMs: wait };
    await kube.patchStatus('workflows', meta.namespace, meta.name, statusMergePatch(previous, next));
    this.limiter.wrote(key, next);
    this.deps.metrics.statusPatches.inc({ kind: 'Workflow' });
    if (previous?.pinnedPod !== undefined && previous.pinnedPod !== next.pinnedPod) {
      this.pinBefore.set(key, previous.pinnedPod);
    }
    for (const event of workflowEvents(previous, next, this.pinBefore.get(key))) {
      this.deps.events.record(involved, event.type, event.reason, event.message);
    }
    return requeue;
  }

  /**
   * Declares the workflow in Redis when it has no state there yet (first sight, or the spec
   * was edited after it expired) or its declaration differs from the spec; returns the record.
   * A declaration counts as activity, so an unchanged spec is never written again.
   */
  private async mirror(
    wkey: ReturnType<typeof workflowKeyOf>,
    spec: WorkflowSpec,
    previous: WorkflowResourceStatus | undefined,
    generation: number,
    involved: InvolvedObject,
  ): Promise<WorkflowRecord | undefined> {
    const record = await this.deps.store.get(wkey);
    const revive = !hasLived(previous) || (previous?.observedGeneration ?? 0) < generation;
    const declare = record === undefined ? revive : !isDeepStrictEqual(record.spec, spec);
    if (!declare) return record;
    const result = await this.deps.store.declare(
      wkey,
      spec,
      { strategy: spec.contextSharing, priority: spec.priority, ttlSeconds: this.deps.workflowTtlSeconds },
      this.now(),
      Infinity,
    );
    const agents = spec.agents.map((a) => a.name).join(', ') || 'any';
    this.deps.events.record(
      involved,
      'Normal',
      record === undefined ? 'Declared' : 'Updated',
      `${record === undefined ? 'declared' : 'declaration updated'} in Redis as ${keyString(wkey)}: agents ${agents}, contextSharing ${spec.contextSharing}, priority ${spec.priority}`,
    );
    return result.record;
  }
}

/**
 * The declaration as the routers get it: the poolRef qualified with the Workflow's namespace,
 * since the routers see the pools of every namespace and a bare name may be in several.
 */
function forRedis(spec: WorkflowSpec, namespace: string): WorkflowSpec {
  return spec.poolRef === undefined ? spec : { ...spec, poolRef: qualifyPoolRef(namespace, spec.poolRef) };
}
