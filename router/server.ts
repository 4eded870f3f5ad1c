import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { StateStore } from '../core/store/state-store.ts';
import { createApp } from './app.ts';
import type { RouterConfig } from './config.ts';
import { drain, type DrainResult } from './drain.ts';
import { createHttpServer } from './http/limits.ts';
import { createLogger, type Logger } from './logger.ts';
import { RouterMetrics } from './metrics.ts';
import { startK8sDiscovery } from './pods/k8s-discovery.ts';
import { PodPool } from './pods/pool.ts';
import { RouterCore } from './router-core.ts';
import { createStore } from './state.ts';

export interface RunningRouter {
  url: string;
  port: number;
  core: RouterCore;
  server: http.Server;
  close(): Promise<void>;
  /** SIGTERM: stop taking connections, let calls and streams finish up to --drain-seconds, close. */
  drain(): Promise<DrainResult>;
}

export interface RouterDeps {
  store?: StateStore;
  logger?: Logger;
  /** Receives every span (tests); without it spans go to --otel-endpoint, if set. */
  spanExporter?: SpanExporter;
}

/** Starts one router replica: probes the pods once, then listens. */
export async function startRouter(config: RouterConfig, deps: RouterDeps = {}): Promise<RunningRouter> {
  const logger = deps.logger ?? createLogger(config.logLevel, { logBodies: () => config.logBodies });
  const store = deps.store ?? (await createStore(config));
  const pool = PodPool.fromStatic(config.staticBackends);
  const core = new RouterCore(config, store, pool, logger, new RouterMetrics(), deps.spanExporter);
  // k8s: the pods, their health and load come from the operator's routing table in Redis.
  const discovery =
    config.serviceDiscovery === 'k8s'
      ? await startK8sDiscovery(config, pool, logger, { metrics: core.metrics }).catch(async (error) => {
          await store.close();
          throw error;
        })
      : undefined;
  await core.start();
  let closing = false;
  const app = createApp(core, () => {
    const storeHealth = store.health();
    const healthyPods = pool.all().filter((p) => p.healthy || p.ejected).length;
    // Degraded (Redis away) stays ready: LLM calls still flow, only messages answer 503.
    const ready = !closing && !core.draining.signal.aborted && healthyPods > 0;
    return {
      ready,
      detail: {
        degraded: storeHealth === 'degraded',
        store: store.kind,
        store_health: storeHealth,
        healthy_pods: healthyPods,
        pods: pool.all().length,
      },
    };
  });
  const { server } = createHttpServer(config, app, core.metrics.registry);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue (the kernel caps it at net.core.somaxconn): a burst of thousands of
    // new connections waits for accept() instead of being dropped (SYN retries take seconds).
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info('router listening', {
    url,
    routingLogic: config.routingLogic,
    pods: pool.all().length,
    store: store.kind,
  });
  return {
    url,
    port,
    core,
    server,
    drain: async () => {
      closing = true;
      const calls = {
        count: () => core.forwarder.inflight + pool.all().reduce((n, p) => n + core.queueDepth(p.id), 0),
        abortAll: () => core.forwarder.abortAll(),
      };
      const result = await drain(server, core.draining, calls, config.drainMs, logger);
      await discovery?.close();
      await core.close();
      return result;
    },
    close: async () => {
      closing = true;
      // Long polls and event streams end now rather than hold the close up (or outlive the store).
      core.draining.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await discovery?.close();
      await core.close();
    },
  };
}
