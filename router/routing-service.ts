import { ApiError, notFound, unavailable } from '../core/errors.ts';
import { isStoreUnavailable } from '../core/store/errors.ts';
import { keyString, type WorkflowKey } from '../core/ids.ts';
import type { StateStore, WorkflowInit } from '../core/store/state-store.ts';
import type { DegradedPins } from './degraded-pins.ts';
import type { RouterConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { RouterMetrics } from './metrics.ts';
import type { Pod } from './pods/pod.ts';
import type { PodPool } from './pods/pool.ts';
import { callRouting, type CallRouting } from './pods/pool-settings.ts';
import type { PrefixIndex } from './prefix-index.ts';
import { schedule } from './scheduling/pipeline.ts';
import { classifyPlacement, type Placement } from './scheduling/placement.ts';
import { choosePool } from './scheduling/pool-choice.ts';
import { profileForCall } from './scheduling/profiles.ts';
import type { Decision, PodSnapshot, Profile, SchedulingRequest } from './scheduling/types.ts';
import type { WorkflowService } from './workflows/workflow-service.ts';

/** What the router needs to place one call. */
export interface CallToPlace {
  model: string;
  requestId: string;
  workflow:
    | {
        key: WorkflowKey;
        pinnedPod: string | undefined;
        pins: boolean;
        /** The store could not be read for this call: place by rendezvous hash. */
        degraded: boolean;
        init: WorkflowInit;
      }
    | undefined;
  sessionKey: string | undefined;
  /**
   * The workflow's declared VllmPool (`name` or `namespace/name`): only its pods are candidates
   * (k8s discovery; ignored with static discovery).
   */
  poolRef?: string | undefined;
  promptHashes: readonly number[];
  promptTokens: number;
}

export interface PlacedCall {
  pod: Pod;
  /** pinned / new / spill / migration for pinned workflows; 'unpinned' for every other call. */
  kind: Placement | 'unpinned';
  decision: Decision;
  matchedChunks: number;
  /** The pool and the settings (logic, batching preference) the call was placed with. */
  routing: CallRouting;
}

/**
 * Turns the scheduling pipeline's decision into a pod, and keeps pins true fleet-wide:
 * a new workflow claims its pod (first writer wins), a migration moves the pin only if nobody
 * moved it first, and a spill leaves it alone.
 */
export class RoutingService {
  private sequence = 0;
  private readonly pool: PodPool;
  private readonly store: StateStore;
  private readonly prefixIndex: PrefixIndex;
  private readonly config: RouterConfig;
  private readonly workflows: WorkflowService;
  private readonly metrics: RouterMetrics;
  private readonly logger: Logger;
  private pinCounts: { at: number; counts: Record<string, number> } = { at: 0, counts: {} };
  private readonly degraded: DegradedPins;

  constructor(
    pool: PodPool,
    store: StateStore,
    prefixIndex: PrefixIndex,
    config: RouterConfig,
    workflows: WorkflowService,
    metrics: RouterMetrics,
    logger: Logger,
    degraded: DegradedPins,
  ) {
    this.degraded = degraded;
    this.pool = pool;
    this.store = store;
    this.prefixIndex = prefixIndex;
    this.config = config;
    this.workflows = workflows;
    this.metrics = metrics;
    this.logger = logger;
  }

  async place(call: CallToPlace, excluded: ReadonlySet<string>): Promise<PlacedCall> {
    const routing = this.routingFor(call);
    const pinning = call.workflow?.pins === true && routing.logic === 'workflow_aware';
    if (pinning && call.workflow?.degraded)
      return this.placeDegraded(call, call.workflow.key, call.workflow.init, excluded, routing);
    const counts =
      pinning && call.workflow?.pinnedPod === undefined ? await this.podPinCounts() : this.pinCounts.counts;
    const pods = this.snapshots(counts, excluded, call.model, routing.pool);
    const request = this.request(call, pods, pinning, routing);
    const profile = profileForCall(routing.logic, pinning, routing);
    const decision = this.decide(profile, request, pods);
    if (!decision.pod) throw this.rejection(call.model, decision);
    let pod = this.mustGet(decision.pod.id);
    let kind: PlacedCall['kind'] = 'unpinned';
    if (pinning && call.workflow) {
      const placement = classifyPlacement(call.workflow.pinnedPod, decision, pods) ?? 'new';
      try {
        ({ pod, kind } = await this.settlePin(call.workflow.key, call.workflow.pinnedPod, placement, pod));
      } catch (error) {
        if (!isStoreUnavailable(error)) throw error;
        this.metrics.storeErrors.inc({ operation: 'pin' });
        return this.placeDegraded(call, call.workflow.key, call.workflow.init, excluded, routing);
      }
    }
    this.metrics.decisions.inc({ logic: routing.logic, kind });
    return { pod, kind, decision, matchedChunks: request.prefixMatches.get(pod.id) ?? 0, routing };
  }

  /**
   * The pool the call is placed in and the settings it is placed with: the pool's
   * `spec.routing` where set, the router's flags elsewhere (and for static discovery).
   */
  private routingFor(call: CallToPlace): CallRouting {
    // Static discovery has no pools: skip the per-call scan of the pods.
    if (!this.pool.hasPools) return callRouting(undefined, this.config);
    const pool = choosePool(this.pool.all(), {
      model: call.model,
      poolRef: call.poolRef,
      pinnedPod: call.workflow?.pinnedPod,
      affinityKey: call.workflow ? keyString(call.workflow.key) : (call.sessionKey ?? call.requestId),
    });
    const routing = callRouting(this.pool.poolSettings(pool), this.config);
    // A poolRef no pod serves: keep the restriction (no candidates) even without settings.
    return pool !== undefined && routing.pool === undefined ? { ...routing, pool } : routing;
  }

  /** Store unreachable: the rendezvous choice over healthy pods, the same on every replica. */
  private placeDegraded(
    call: CallToPlace,
    key: WorkflowKey,
    init: WorkflowInit,
    excluded: ReadonlySet<string>,
    routing: CallRouting,
  ): PlacedCall {
    const pods = this.snapshots({}, excluded, call.model, routing.pool);
    const candidates = pods.filter((p) => p.healthy && !p.draining && p.models.includes(call.model));
    const chosen = this.degraded.pick(key, candidates, init);
    if (!chosen) {
      const anyForModel = pods.some((p) => p.models.includes(call.model));
      throw this.rejection(call.model, {
        pod: undefined,
        profile: 'degraded',
        candidates: 0,
        rejection: anyForModel ? 'no-healthy-pods' : 'no-pods-for-model',
        scores: {},
      });
    }
    this.metrics.decisions.inc({ logic: routing.logic, kind: 'degraded' });
    const decision: Decision = {
      pod: chosen,
      profile: 'degraded',
      candidates: candidates.length,
      rejection: undefined,
      scores: {},
    };
    return { pod: this.mustGet(chosen.id), kind: 'pinned', decision, matchedChunks: 0, routing };
  }

  /** Saturated everywhere: schedule without the capacity filter so the call waits by priority. */
  private decide(profile: Profile, request: SchedulingRequest, pods: PodSnapshot[]): Decision {
    const decision = schedule(profile, request, pods);
    if (decision.rejection !== 'all-saturated') return decision;
    const waiting: Profile = { ...profile, filters: profile.filters.filter((f) => f.name !== 'capacity') };
    return schedule(waiting, request, pods);
  }

  private async settlePin(
    key: WorkflowKey,
    pinnedPod: string | undefined,
    placement: Placement,
    picked: Pod,
  ): Promise<{ pod: Pod; kind: Placement }> {
    const now = Date.now();
    if (placement === 'new') {
      const claim = await this.store.pins.claim(key, picked.id);
      if (claim.won) {
        this.metrics.pins.inc();
        this.pinCounts.counts[picked.id] = (this.pinCounts.counts[picked.id] ?? 0) + 1;
        return { pod: picked, kind: 'new' };
      }
      const winner = this.usable(claim.pod);
      return winner ? { pod: winner, kind: 'pinned' } : { pod: picked, kind: 'spill' };
    }
    if (placement === 'migration' && pinnedPod !== undefined) {
      const moved = await this.store.pins.move(key, pinnedPod, picked.id);
      if (moved.moved) {
        this.metrics.migrations.inc();
        this.workflows.stats.add({ type: 'migration', key, at: now, from: pinnedPod, to: picked.id });
        this.logger.info('workflow migrated', { workflow: keyString(key), from: pinnedPod, to: picked.id });
        return { pod: picked, kind: 'migration' };
      }
      const current = moved.pod === undefined ? undefined : this.usable(moved.pod);
      if (current) return { pod: current, kind: 'pinned' };
    }
    if (placement === 'spill') {
      this.metrics.spills.inc();
      this.workflows.stats.add({ type: 'spill', key, at: now });
    }
    return { pod: picked, kind: placement };
  }

  private usable(id: string): Pod | undefined {
    const pod = this.pool.get(id);
    return pod && pod.healthy && !pod.draining ? pod : undefined;
  }

  private mustGet(id: string): Pod {
    const pod = this.pool.get(id);
    if (!pod) throw new ApiError(500, 'server_error', 'scheduler picked an unknown pod');
    return pod;
  }

  /**
   * The pods as the scheduler sees them. Ejected pods (passive health) count as down, unless
   * no pod of the model is left: then they take calls again (Envoy's panic threshold), since
   * refusing every call is worse than trying a pod that failed a few.
   */
  private snapshots(
    counts: Record<string, number>,
    excluded: ReadonlySet<string>,
    model: string,
    pool: string | undefined,
  ): PodSnapshot[] {
    const pods = pool === undefined ? this.pool.all() : this.pool.all().filter((p) => p.pools.includes(pool));
    const panic = !pods.some(
      (p) => p.healthy && !p.draining && !excluded.has(p.id) && p.models.includes(model),
    );
    return pods.map((pod) => {
      const snapshot = pod.snapshot(pod.maxInflight ?? this.config.maxInflightPerPod, counts[pod.id] ?? 0);
      if (excluded.has(pod.id)) return { ...snapshot, healthy: false };
      return panic && pod.ejected ? { ...snapshot, healthy: true } : snapshot;
    });
  }

  private request(
    call: CallToPlace,
    pods: readonly PodSnapshot[],
    pinning: boolean,
    routing: CallRouting,
  ): SchedulingRequest {
    return {
      model: call.model,
      workflowKey: call.workflow ? keyString(call.workflow.key) : undefined,
      sessionKey: call.sessionKey,
      pinnedPod: pinning ? call.workflow?.pinnedPod : undefined,
      promptTokens: call.promptTokens,
      promptChunks: call.promptHashes.length,
      prefixMatches: this.prefixIndex.matches(
        pods.map((p) => p.id),
        call.promptHashes,
      ),
      sequence: this.sequence++,
      requestKey: call.requestId,
      maxWorkflowsPerPod: routing.maxWorkflowsPerPod,
    };
  }

  /** Fleet pin counts for balancing new workflows, refreshed at most every 250 ms. */
  private async podPinCounts(): Promise<Record<string, number>> {
    const now = Date.now();
    if (now - this.pinCounts.at < 250) return this.pinCounts.counts;
    try {
      this.pinCounts = { at: now, counts: await this.store.pins.countsByPod() };
    } catch {
      this.metrics.storeErrors.inc({ operation: 'pin-counts' });
      this.pinCounts.at = now;
    }
    return this.pinCounts.counts;
  }

  private rejection(model: string, decision: Decision): ApiError {
    if (decision.rejection === 'no-pods-for-model') {
      const served = this.pool.allModels();
      return notFound(
        `The model \`${model}\` does not exist. Served models: ${served.join(', ') || '(none)'}`,
        'model_not_found',
      );
    }
    return unavailable(`no healthy pod can serve model \`${model}\` right now`, 'no_healthy_pods', 1);
  }
}
