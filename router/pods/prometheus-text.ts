/**
 * The few samples the router reads from a vLLM pod's /metrics. A tolerant line parser: unknown
 * lines are skipped, so a newer vLLM with more families never breaks scraping.
 */
export interface PodMetrics {
  running: number;
  waiting: number;
  kvUsage: number;
  prefixQueries: number;
  prefixHits: number;
}

const WANTED: Record<string, keyof PodMetrics> = {
  'vllm:num_requests_running': 'running',
  'vllm:num_requests_waiting': 'waiting',
  'vllm:kv_cache_usage_perc': 'kvUsage',
  'vllm:gpu_cache_usage_perc': 'kvUsage',
  'vllm:prefix_cache_queries_total': 'prefixQueries',
  'vllm:prefix_cache_hits_total': 'prefixHits',
};

/** Sums each wanted family over its label sets (one pod may serve several models). */
export function parsePodMetrics(text: string): PodMetrics {
  const metrics: PodMetrics = { running: 0, waiting: 0, kvUsage: 0, prefixQueries: 0, prefixHits: 0 };
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) continue;
    const field = WANTED[line.slice(0, nameEnd)];
    if (field === undefined) continue;
    const valueText =
      line
        .slice(line.lastIndexOf('}') + 1)
        .trim()
        .split(/\s+/)[0] ?? '';
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    metrics[field] = field === 'kvUsage' ? Math.max(metrics.kvUsage, value) : metrics[field] + value;
  }
  return metrics;
}
