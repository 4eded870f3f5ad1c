import type { RoutingPod, RoutingPool, RoutingTableStore } from '../../core/routing-table.ts';
import { vllmPoolSpecSchema, type VllmPoolSpec } from '../../core/vllm-pool-spec.ts';
import type { ReconcileResult } from '../controller.ts';
import type { EventSink } from '../events.ts';
import type { ObjectCache } from '../informer.ts';
import type { Logger } from '../logger.ts';
import type { OperatorMetrics } from '../metrics.ts';
import { prefixHitRate, probePod, type ProbeResult, type ProbeTarget, type VllmSample } from '../prober.ts';
import {
  API_VERSION,
  objectKey,
  podNotServingReason,
  selects,
  splitKey,
  type CustomResource,
  type PodObject,
} from '../resources.ts';
import type { PodView } from '../status.ts';

/** What the pods controller last saw of a pool, for the VllmPool status. */
export interface PoolObservation {
  generation: number;
  specError: string | undefined;
  logic: string | undefined;
  models: string[];
  pods: PodView[];
}

/** One pod's probe history, reset when the pod's uid or URL changes (a new pod). */
interface ProbeState {
  uid: string;
  url: string;
  at: number;
  passed: boolean;
  failures: number;
  reason: string | undefined;
  sample: VllmSample | undefined;
  hitRate: number;
  models: string[] | undefined;
}

export interface PodsControllerDeps {
  pools: ObjectCache<CustomResource>;
  pods: ObjectCache<PodObject>;
  table: RoutingTableStore;
  events: EventSink;
  observations: Map<string, PoolObservation>;
  /** Called after each observation of a pool (the VllmPool status controller enqueues it). */
  onObserved(poolKey: string): void;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Pods in the table per pool when this replica started leading (PodLost after a failover). */
  initialMembers?: Map<string, Set<string>>;
  probe?: (target: ProbeTarget) => Promise<ProbeResult>;
  now?: () => number;
}

/**
 * The pods of each pool: selects them by label, probes each ready pod every
 * health.periodSeconds (a new pod at once), and writes the pool's routable pods (Running,
 * Ready, probe passing) with their load into the routing table. Runs on every change of the
 * pool or of a pod it selects, so a pod that turns unready or is deleted leaves the table at
 * once, and again each period for the probes. Key: the pool's `namespace/name`.
 */
export class PodsController {
  private readonly deps: PodsControllerDeps;
  private readonly probes = new Map<string, Map<string, ProbeState>>();
  /** Pods in the table per pool, as last written: joins and losses are Events. */
  private readonly members: Map<string, Set<string>>;
  private readonly now: () => number;

  constructor(deps: PodsControllerDeps) {
    this.deps = deps;
    this.members = new Map(deps.initialMembers ?? []);
    this.now = deps.now ?? Date.now;
  }

  /** The pools (keys) in a namespace whose selector matches these labels. */
  poolsSelecting(namespace: string, labels: Record<string, string> | undefined): string[] {
    return this.deps.pools
      .list()
      .filter((pool) => pool.metadata.namespace === namespace)
      .filter((pool) => {
        const spec = vllmPoolSpecSchema.safeParse(pool.spec);
        return spec.success && selects(spec.data.selector.matchLabels, labels);
      })
      .map((pool) => objectKey(pool.metadata));
  }

  async reconcile(poolKey: string): Promise<ReconcileResult> {
    const { pools, table, metrics } = this.deps;
    const pool = pools.get(poolKey);
    if (!pool || pool.metadata.deletionTimestamp) {
      await table.update({ remove: [poolKey] }, this.now());
      this.probes.delete(poolKey);
      this.members.delete(poolKey);
      this.deps.observations.delete(poolKey);
      metrics.routablePods.remove({ pool: poolKey });
      return {};
    }
    const parsed = vllmPoolSpecSchema.safeParse(pool.spec);
    if (!parsed.success) {
      await table.update({ remove: [poolKey] }, this.now());
      this.members.set(poolKey, new Set());
      this.deps.observations.set(poolKey, {
        generation: pool.metadata.generation ?? 0,
        specError: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        logic: undefined,
        models: [],
        pods: [],
      });
      this.deps.onObserved(poolKey);
      return {};
    }
    const spec = parsed.data;
    const { namespace } = splitKey(poolKey);
    const selected = this.deps.pods
      .list()
      .filter(
        (p) => p.metadata.namespace === namespace && selects(spec.selector.matchLabels, p.metadata.labels),
      );
    const states = this.probes.get(poolKey) ?? new Map<string, ProbeState>();
    this.probes.set(poolKey, states);
    const periodMs = spec.health.periodSeconds * 1000;

    await this.probeDue(selected, states, spec, periodMs);

    const now = this.now();
    const views: PodView[] = [];
    const routable: RoutingPod[] = [];
    const lostReasons = new Map<string, string>();
    for (const pod of selected) {
      const name = pod.metadata.name;
      const notServing = podNotServingReason(pod);
      const state = notServing === undefined ? states.get(name) : undefined;
      const healthy = state !== undefined && state.passed && state.failures < spec.health.failureThreshold;
      const models = spec.models.length > 0 ? spec.models : (state?.models ?? []);
      let reason =
        notServing ?? (state === undefined ? 'not probed yet' : healthy ? undefined : state.reason);
      if (reason === undefined && models.length === 0) reason = 'no models: /v1/models not answered yet';
      views.push({
        name,
        ip: pod.status?.podIP ?? undefined,
        ready: notServing === undefined,
        healthy,
        reason,
        running: state?.sample?.running,
        waiting: state?.sample?.waiting,
        kvUsage: state?.sample?.kvUsage,
        prefixHitRate: state?.sample ? state.hitRate : undefined,
      });
      if (reason !== undefined) {
        lostReasons.set(name, reason);
        continue;
      }
      if (!state) continue;
      routable.push({
        name,
        url: state.url,
        models,
        ready: true,
        healthy: true,
        running: state.sample?.running ?? 0,
        waiting: state.sample?.waiting ?? 0,
        kvUsage: state.sample?.kvUsage ?? 0,
        prefixHitRate: state.hitRate,
        probedAt: state.at,
      });
    }
    // Forget pods no longer selected or serving: a pod coming back is probed afresh.
    for (const name of [...states.keys()]) {
      if (!selected.some((p) => p.metadata.name === name && podNotServingReason(p) === undefined))
        states.delete(name);
    }

    const models = [...new Set(routable.flatMap((p) => p.models))].sort();
    const entry: RoutingPool = {
      namespace,
      name: pool.metadata.name,
      models: spec.models.length > 0 ? [...spec.models] : models,
      ...routingSettings(spec),
      pods: routable.sort((a, b) => a.name.localeCompare(b.name)),
    };
    const before = await this.write(poolKey, entry, now);
    this.announce(pool, before, new Set(routable.map((p) => p.name)), lostReasons, selected);
    metrics.routablePods.set({ pool: poolKey }, routable.length);

    this.deps.observations.set(poolKey, {
      generation: pool.metadata.generation ?? 0,
      specError: undefined,
      logic: spec.routing.logic,
      models: entry.models,
      pods: views,
    });
    this.deps.onObserved(poolKey);
    return { requeueAfterMs: this.nextProbeIn(selected, states, periodMs) };
  }

  /** Probes the ready pods that are new, changed, or due; updates their states. */
  private async probeDue(
    selected: PodObject[],
    states: Map<string, ProbeState>,
    spec: VllmPoolSpec,
    periodMs: number,
  ): Promise<void> {
    const now = this.now();
    const due = selected.filter((pod) => {
      if (podNotServingReason(pod) !== undefined) return false;
      const state = states.get(pod.metadata.name);
      return (
        !state ||
        state.uid !== pod.metadata.uid ||
        state.url !== urlOf(pod, spec) ||
        now - state.at >= periodMs * 0.95
      );
    });
    const probe = this.deps.probe ?? probePod;
    await Promise.all(
      due.map(async (pod) => {
        const url = urlOf(pod, spec);
        const result = await probe({
          url,
          healthPath: spec.health.path,
          metricsPath: spec.metricsPath,
          timeoutMs: spec.health.timeoutSeconds * 1000,
          discoverModels: spec.models.length === 0,
        });
        this.deps.metrics.probes.inc({ result: result.ok ? 'ok' : 'failed' });
        const previous = states.get(pod.metadata.name);
        const same =
          previous && previous.uid === pod.metadata.uid && previous.url === url ? previous : undefined;
        const state: ProbeState = {
          uid: pod.metadata.uid,
          url,
          at: this.now(),
          passed: result.ok || (same?.passed ?? false),
          failures: result.ok ? 0 : (same?.failures ?? 0) + 1,
          reason: result.ok ? undefined : `probe failed: ${result.reason}`,
          sample: result.ok ? (result.sample ?? same?.sample) : same?.sample,
          hitRate:
            result.ok && result.sample
              ? prefixHitRate(same?.sample, result.sample, same?.hitRate)
              : (same?.hitRate ?? 0),
          models: result.ok ? (result.models ?? same?.models) : same?.models,
        };
        states.set(pod.metadata.name, state);
      }),
    );
  }

  private nextProbeIn(selected: PodObject[], states: Map<string, ProbeState>, periodMs: number): number {
    const now = this.now();
    let next = periodMs;
    for (const pod of selected) {
      const state = states.get(pod.metadata.name);
      if (state) next = Math.min(next, Math.max(50, state.at + periodMs - now));
    }
    return next;
  }

  /** Writes the pool's entry; returns the pods it had before. */
  private async write(poolKey: string, entry: RoutingPool, now: number): Promise<Set<string>> {
    const before = this.members.get(poolKey) ?? new Set<string>();
    const { version, changed } = await this.deps.table.update({ put: [entry] }, now);
    this.members.set(poolKey, new Set(entry.pods.map((p) => p.name)));
    if (changed) {
      this.deps.logger.debug('routing table changed', { pool: poolKey, version, pods: entry.pods.length });
      this.deps.metrics.tableWrites.inc();
    }
    return before;
  }

  /** Events on the VllmPool for pods that joined or left the table. */
  private announce(
    pool: CustomResource,
    before: Set<string>,
    after: Set<string>,
    reasons: Map<string, string>,
    selected: PodObject[],
  ): void {
    const involved = {
      apiVersion: API_VERSION,
      kind: 'VllmPool',
      name: pool.metadata.name,
      namespace: pool.metadata.namespace,
      uid: pool.metadata.uid,
    };
    for (const name of before) {
      if (after.has(name)) continue;
      const stillSelected = selected.some((p) => p.metadata.name === name);
      const why = reasons.get(name) ?? (stillSelected ? 'not serving' : 'deleted or no longer selected');
      this.deps.logger.warn('pod left the routing table', { pool: objectKey(pool.metadata), pod: name, why });
      this.deps.events.record(
        involved,
        'Warning',
        'PodLost',
        `pod ${name} left the routing table (${why}); its workflows migrate on their next call`,
      );
    }
    for (const name of after) {
      if (before.has(name)) continue;
      this.deps.logger.info('pod joined the routing table', { pool: objectKey(pool.metadata), pod: name });
      this.deps.events.record(involved, 'Normal', 'PodReady', `pod ${name} joined the routing table`);
    }
  }
}

/** The pool's spec.routing as the table carries it: only the fields the user set (unset: the routers' flags). */
function routingSettings(spec: VllmPoolSpec): Partial<RoutingPool> {
  const settings: Partial<RoutingPool> = {};
  const { logic, batchingPreference, maxInflightPerPod, maxWorkflowsPerPod } = spec.routing;
  if (logic !== undefined) settings.logic = logic;
  if (batchingPreference !== undefined) settings.batchingPreference = batchingPreference;
  if (maxInflightPerPod !== undefined) settings.maxInflightPerPod = maxInflightPerPod;
  if (maxWorkflowsPerPod !== undefined) settings.maxWorkflowsPerPod = maxWorkflowsPerPod;
  return settings;
}

/** http://<podIP>:<pool port> */
function urlOf(pod: PodObject, spec: VllmPoolSpec): string {
  const ip = pod.status?.podIP ?? '';
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${spec.port}`;
}
