import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The router's Prometheus families (DESIGN section 8), on a registry of its own. */
export class RouterMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'workflow_router_requests_total',
    help: 'LLM calls handled, by routing logic, pod and outcome',
    labelNames: ['logic', 'pod', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'workflow_router_request_duration_seconds',
    help: 'LLM call latency seen by the client, by logic, pod and outcome',
    labelNames: ['logic', 'pod', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: 'workflow_router_time_to_first_token_seconds',
    help: 'Time from receiving a call to relaying its first response byte, by pod',
    labelNames: ['pod'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: 'workflow_router_overhead_seconds',
    help: 'Router time before the call is handed to the pod (parse, auth, state, scheduling)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly decisions = new Counter({
    name: 'workflow_router_routing_decisions_total',
    help: 'Placement decisions: pinned, new (pin created), spill, migration, unpinned',
    labelNames: ['logic', 'kind'] as const,
    registers: [this.registry],
  });

  readonly pins = new Counter({
    name: 'workflow_router_pins_total',
    help: 'Workflows pinned to a pod',
    registers: [this.registry],
  });

  readonly spills = new Counter({
    name: 'workflow_router_spills_total',
    help: 'Calls of a pinned workflow sent elsewhere because the pin was over its spill bound',
    registers: [this.registry],
  });

  readonly migrations = new Counter({
    name: 'workflow_router_migrations_total',
    help: 'Workflows re-pinned because their pod went down',
    registers: [this.registry],
  });

  readonly workflowsLive = new Gauge({
    name: 'workflow_router_workflows_live',
    help: 'Live workflows (fleet-wide when the state is in Redis)',
    registers: [this.registry],
  });

  readonly workflowsRemoved = new Counter({
    name: 'workflow_router_workflows_removed_total',
    help: 'Workflows removed, by reason: evicted (over --max-workflows), expired (idle past ttl), deleted',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly messages = new Counter({
    name: 'workflow_router_messages_total',
    help: 'Agent messages by outcome: sent, delivered (read), refused (inbox full)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'workflow_router_store_errors_total',
    help: 'Failed operations on the shared state store (Redis)',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly statsDropped = new Counter({
    name: 'workflow_router_stats_dropped_total',
    help: 'Workflow statistics events never written: queue-full (over 100,000 waiting during a store outage), rejected (a batch the store kept refusing)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly storeUp = new Gauge({
    name: 'workflow_router_store_up',
    help: '1 while the shared state store (Redis) is reachable, 0 while the router runs degraded',
    registers: [this.registry],
  });

  readonly podInflight = new Gauge({
    name: 'workflow_router_pod_inflight',
    help: 'Calls in flight from this router to each pod',
    labelNames: ['pod'] as const,
    registers: [this.registry],
  });

  readonly podHealthy = new Gauge({
    name: 'workflow_router_pod_healthy',
    help: '1 when the pod passes health checks, 0 when it is down',
    labelNames: ['pod'] as const,
    registers: [this.registry],
  });

  readonly admissionQueue = new Gauge({
    name: 'workflow_router_admission_queue_depth',
    help: 'Calls waiting for a saturated pod',
    labelNames: ['pod'] as const,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: 'workflow_router_upstream_retries_total',
    help: 'Calls retried on another pod after a refused connection',
    registers: [this.registry],
  });

  readonly cacheTokens = new Counter({
    name: 'workflow_router_prompt_tokens_total',
    help: 'Prompt tokens reported by pods, by kind: prompt (all) or cached (prefix-cache hits)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'workflow_router_process_' });
  }
}
