/**
 * The scheduling pipeline's data (DESIGN section 4). Everything a plugin needs is in these
 * snapshots: scorers and filters never do I/O, so a decision is a pure function of its inputs.
 */

/** One pod as the scheduler sees it at decision time. */
export interface PodSnapshot {
  /** Stable pod id (static backends: `pod-0`, `pod-1`...; Kubernetes: `<namespace>/<pod name>`). */
  readonly id: string;
  readonly url: string;
  readonly models: readonly string[];
  /** Passes health probes and has not failed passively since. */
  readonly healthy: boolean;
  /** Being removed: finishes what it has, takes nothing new. */
  readonly draining: boolean;
  /** Calls this router replica has in flight to the pod (admitted, not finished). */
  readonly inflight: number;
  /** Hard cap on in-flight calls per pod (router-side admission); at the cap the pod is saturated. */
  readonly maxInflight: number;
  /** The router's estimate of prompt tokens in flight that the pod must prefill (not cached). */
  readonly inflightUncachedTokens: number;
  /** Scraped from the pod's /metrics (0 when never scraped). */
  readonly running: number;
  readonly waiting: number;
  /** vllm:kv_cache_usage_perc, 0..1. */
  readonly kvUsage: number;
  /** Live workflows pinned to the pod, fleet-wide. */
  readonly pinnedWorkflows: number;
}

/** One call to place. */
export interface SchedulingRequest {
  readonly model: string;
  /** `tenant/id` of the call's workflow, if any: the tie-break key and the pin's owner. */
  readonly workflowKey: string | undefined;
  /** Value of the session header for the `session` logic. */
  readonly sessionKey: string | undefined;
  /** The workflow's current pin (pod id), if it has one. */
  readonly pinnedPod: string | undefined;
  /** Estimated prompt tokens of this call. */
  readonly promptTokens: number;
  /** Number of prompt chunks hashed for prefix matching. */
  readonly promptChunks: number;
  /** Per pod id: how many leading prompt chunks the pod has already seen (its likely cache hit). */
  readonly prefixMatches: ReadonlyMap<string, number>;
  /** Monotonic per-router counter, for round robin. */
  readonly sequence: number;
  /** A key for tie-breaking calls without workflow or session (e.g. the request id). */
  readonly requestKey: string;
  /** The pool's `routing.maxWorkflowsPerPod`: pods at it take no new workflow (undefined: no cap). */
  readonly maxWorkflowsPerPod?: number | undefined;
}

export interface Filter {
  readonly name: string;
  filter(request: SchedulingRequest, pods: readonly PodSnapshot[]): PodSnapshot[];
}

/** Returns one score in [0,1] per pod, in the order of `pods`. Pure: no I/O, no clock. */
export interface Scorer {
  readonly name: string;
  score(request: SchedulingRequest, pods: readonly PodSnapshot[]): number[];
}

export interface WeightedScorer {
  readonly scorer: Scorer;
  readonly weight: number;
}

export interface Picker {
  readonly name: string;
  /** `scores[i]` is the weighted total for `pods[i]`; returns undefined only when pods is empty. */
  pick(
    request: SchedulingRequest,
    pods: readonly PodSnapshot[],
    scores: readonly number[],
  ): PodSnapshot | undefined;
}

export interface Profile {
  readonly name: string;
  readonly filters: readonly Filter[];
  readonly scorers: readonly WeightedScorer[];
  readonly picker: Picker;
}

/** The outcome, with the evidence a log line, a trace span or the dashboard can show. */
export interface Decision {
  readonly pod: PodSnapshot | undefined;
  readonly profile: string;
  readonly candidates: number;
  /** Why there were no candidates, when pod is undefined. */
  readonly rejection: 'no-pods-for-model' | 'no-healthy-pods' | 'all-saturated' | undefined;
  /** Weighted total per candidate pod id. */
  readonly scores: Readonly<Record<string, number>>;
}
