import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus families, on a registry of its own. */
export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: 'workflow_operator_reconcile_total',
    help: 'Reconciles run, by controller and result (ok, error)',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });

  readonly reconcileDuration = new Histogram({
    name: 'workflow_operator_reconcile_duration_seconds',
    help: 'Time one reconcile took, by controller',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'workflow_operator_workqueue_depth',
    help: 'Keys waiting in a controller work queue',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });

  readonly leader = new Gauge({
    name: 'workflow_operator_leader',
    help: '1 while this replica holds the lease (or runs without leader election)',
    registers: [this.registry],
  });

  readonly probes = new Counter({
    name: 'workflow_operator_pod_probes_total',
    help: 'Pod probes (/health, then /metrics), by result (ok, failed)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly routablePods = new Gauge({
    name: 'workflow_operator_routable_pods',
    help: 'Pods in the routing table, by pool (namespace/name)',
    labelNames: ['pool'] as const,
    registers: [this.registry],
  });

  readonly tableWrites = new Counter({
    name: 'workflow_operator_routing_table_writes_total',
    help: 'Routing table changes written to Redis and announced',
    registers: [this.registry],
  });

  readonly statusPatches = new Counter({
    name: 'workflow_operator_status_patches_total',
    help: 'Status subresource patches, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'workflow_operator_events_total',
    help: 'Kubernetes Events recorded (new or repeated), by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'workflow_operator_' });
  }
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text), /healthz (the process answers) and /readyz. */
export async function startMetricsServer(
  metrics: OperatorMetrics,
  host: string,
  port: number,
  ready: () => boolean,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(String(error));
        });
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || ready();
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
