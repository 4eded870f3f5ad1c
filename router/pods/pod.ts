import http from 'node:http';
import type { PodSnapshot } from '../scheduling/types.ts';
import type { PodMetrics } from './prometheus-text.ts';

/**
 * How long an idle keep-alive connection to a pod is kept: below the 5 s keep-alive of vLLM's
 * server (uvicorn) and of Node's, so the router never sends a call on a connection the pod is
 * closing at that moment (a reset the router would take for a dead pod). A pod that announces
 * a shorter `Keep-Alive: timeout=N` is honoured (Node's agent uses the hint only when this is set).
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 4000;

/** Why a pod is considered down, for logs, status and the dashboard. */
export type DownReason = 'probe-failed' | 'unhealthy' | 'connection-refused' | 'timeout' | undefined;

/** One vLLM pod as this router replica knows it: identity, health and load. */
export class Pod {
  readonly id: string;
  readonly url: string;
  models: string[];
  healthy = true;
  downReason: DownReason = undefined;
  draining = false;
  inflight = 0;
  inflightUncachedTokens = 0;
  scraped: PodMetrics = { running: 0, waiting: 0, kvUsage: 0, prefixQueries: 0, prefixHits: 0 };
  lastProbeAt = 0;
  /** Keep-alive connections to the pod: the proxy's hot path reuses sockets. */
  readonly agent: http.Agent;

  constructor(id: string, url: string, models: string[]) {
    this.id = id;
    this.url = url;
    this.models = models;
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: Infinity,
      maxFreeSockets: 256,
      timeout: IDLE_CONNECTION_TIMEOUT_MS,
    });
  }

  markDown(reason: Exclude<DownReason, undefined>): void {
    this.healthy = false;
    this.downReason = reason;
  }

  markUp(): void {
    this.healthy = true;
    this.downReason = undefined;
  }

  snapshot(maxInflight: number, pinnedWorkflows: number): PodSnapshot {
    return {
      id: this.id,
      url: this.url,
      models: this.models,
      healthy: this.healthy,
      draining: this.draining,
      inflight: this.inflight,
      maxInflight,
      inflightUncachedTokens: this.inflightUncachedTokens,
      running: this.scraped.running,
      waiting: this.scraped.waiting,
      kvUsage: this.scraped.kvUsage,
      pinnedWorkflows,
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
