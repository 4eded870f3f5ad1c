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
export type DownReason =
  'probe-failed' | 'unhealthy' | 'connection-refused' | 'timeout' | 'ejected' | undefined;

/** One vLLM pod as this router replica knows it: identity, health and load. */
export class Pod {
  readonly id: string;
  readonly url: string;
  models: string[];
  /** VllmPools (ids `<namespace>/<name>`) that select this pod; empty with static discovery. */
  pools: string[] = [];
  /**
   * The smallest `routing.maxInflightPerPod` of its pools (undefined: none sets one, the router's
   * `--max-inflight-per-pod` applies). A pod's capacity is physical, so the strictest pool wins.
   */
  maxInflight: number | undefined = undefined;
  /** The last probe's (or the routing table's) verdict; a refused connection also clears it. */
  private probedUp = true;
  private probeReason: DownReason = undefined;
  /** Passive health (outlier ejection): see recordFailure. */
  private ejectedUntil = 0;
  private ejectReason: DownReason = undefined;
  private ejections = 0;
  private failuresInARow = 0;
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

  /** Receives calls: the last probe passed and the pod is not ejected. */
  get healthy(): boolean {
    return this.probedUp && Date.now() >= this.ejectedUntil;
  }

  /** Down only because of passive ejection: the probes still pass (a last resort when all are down). */
  get ejected(): boolean {
    return this.probedUp && Date.now() < this.ejectedUntil;
  }

  get downReason(): DownReason {
    if (!this.probedUp) return this.probeReason;
    return Date.now() < this.ejectedUntil ? this.ejectReason : undefined;
  }

  markDown(reason: Exclude<DownReason, undefined>): void {
    this.probedUp = false;
    this.probeReason = reason;
  }

  /** A passing probe; an ejection runs its course regardless (the pod answers probes but fails calls). */
  markUp(): void {
    this.probedUp = true;
    this.probeReason = undefined;
  }

  /**
   * Passive health, as Envoy's outlier detection: a transport failure of a call (reset, silence)
   * counts; at `threshold` in a row (0: never) the pod is ejected for `baseMs`, doubled for each
   * ejection in a row up to 16x. Returns true when this failure ejected the pod.
   */
  recordFailure(threshold: number, baseMs: number, now = Date.now()): boolean {
    this.failuresInARow += 1;
    if (threshold <= 0 || this.failuresInARow < threshold) return false;
    this.eject(baseMs, 'ejected', now);
    return true;
  }

  /** Takes the pod out of rotation for `baseMs` (doubled per ejection in a row), whatever the probes say. */
  eject(baseMs: number, reason: Exclude<DownReason, undefined>, now = Date.now()): void {
    this.ejectedUntil = now + baseMs * 2 ** Math.min(this.ejections, 4);
    this.ejectReason = reason;
    this.ejections += 1;
    this.failuresInARow = 0;
  }

  /** A call completed: the failure streak ends, and the ejection back-off resets once out of ejection. */
  recordSuccess(now = Date.now()): void {
    this.failuresInARow = 0;
    if (now >= this.ejectedUntil) this.ejections = 0;
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
