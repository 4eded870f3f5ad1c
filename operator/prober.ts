import { z } from 'zod';
import { errorMessage } from './logger.ts';

/** The samples the operator reads from a vLLM pod's /metrics (vLLM's own metric names). */
export interface VllmSample {
  running: number;
  waiting: number;
  /** 0..1 */
  kvUsage: number;
  prefixQueries: number;
  prefixHits: number;
}

const FAMILIES: Record<string, keyof VllmSample> = {
  'vllm:num_requests_running': 'running',
  'vllm:num_requests_waiting': 'waiting',
  'vllm:kv_cache_usage_perc': 'kvUsage',
  // The name before vLLM 0.10; a pod exports one or the other.
  'vllm:gpu_cache_usage_perc': 'kvUsage',
  'vllm:prefix_cache_queries_total': 'prefixQueries',
  'vllm:prefix_cache_hits_total': 'prefixHits',
};

/**
 * Parses Prometheus text, summing each family over its label sets (a pod may serve several
 * models; KV usage takes the maximum). Unknown lines are skipped, so newer vLLM versions with
 * more families never break the scrape.
 */
export function parseVllmMetrics(text: string): VllmSample {
  const sample: VllmSample = { running: 0, waiting: 0, kvUsage: 0, prefixQueries: 0, prefixHits: 0 };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) continue;
    const field = FAMILIES[line.slice(0, nameEnd)];
    if (field === undefined) continue;
    const labelsEnd = line[nameEnd] === '{' ? line.lastIndexOf('}') + 1 : nameEnd;
    const rest = line.slice(labelsEnd).trim();
    const value = Number(rest.split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    sample[field] = field === 'kvUsage' ? Math.max(sample.kvUsage, value) : sample[field] + value;
  }
  return sample;
}

/**
 * Prefix-cache hit rate over the queries since the previous scrape; the previous rate when
 * there were none (an idle pod keeps its last figure), the cumulative rate after a restart.
 */
export function prefixHitRate(previous: VllmSample | undefined, next: VllmSample, previousRate = 0): number {
  let queries = next.prefixQueries;
  let hits = next.prefixHits;
  if (previous && next.prefixQueries >= previous.prefixQueries && next.prefixHits >= previous.prefixHits) {
    queries -= previous.prefixQueries;
    hits -= previous.prefixHits;
  }
  if (queries <= 0) return previousRate;
  return Math.min(1, Math.max(0, hits / queries));
}

export interface ProbeTarget {
  /** http://<podIP>:<port> */
  url: string;
  healthPath: string;
  metricsPath: string;
  timeoutMs: number;
  /** Also read /v1/models (pools that do not list their models). */
  discoverModels: boolean;
}

export type ProbeResult =
  { ok: true; sample: VllmSample | undefined; models: string[] | undefined } | { ok: false; reason: string };

const modelsSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

function failure(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timed out';
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : errorMessage(cause ?? error);
}

/**
 * Probes one pod: /health must answer 2xx; then /metrics is scraped (a failed scrape leaves
 * the sample undefined, it does not fail the probe) and, when asked, /v1/models is read.
 */
export async function probePod(target: ProbeTarget): Promise<ProbeResult> {
  const signal = (): AbortSignal => AbortSignal.timeout(target.timeoutMs);
  try {
    const health = await fetch(`${target.url}${target.healthPath}`, { signal: signal() });
    await health.arrayBuffer();
    if (!health.ok) return { ok: false, reason: `${target.healthPath} answered ${health.status}` };
  } catch (error) {
    return { ok: false, reason: `${target.healthPath}: ${failure(error)}` };
  }
  let sample: VllmSample | undefined;
  try {
    const scrape = await fetch(`${target.url}${target.metricsPath}`, { signal: signal() });
    if (scrape.ok) sample = parseVllmMetrics(await scrape.text());
    else await scrape.arrayBuffer();
  } catch {
    // Healthy but unscraped: the load figures stay as they were.
  }
  let models: string[] | undefined;
  if (target.discoverModels) {
    try {
      const answer = await fetch(`${target.url}/v1/models`, { signal: signal() });
      const parsed = modelsSchema.safeParse(answer.ok ? await answer.json() : undefined);
      if (parsed.success) models = parsed.data.data.map((m) => m.id);
    } catch {
      // Retried at the next probe; until then the pod has no known models.
    }
  }
  return { ok: true, sample, models };
}
