// The pod's /metrics, under vLLM's metric names and `model_name` label, in its own
// registry so several pods in one process don't mix. Engine-wide gauges are read at scrape
// time (nothing to update on the hot path) and carry the primary model's name, as vLLM's
// one engine does; per-request series carry the requested model.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from './engine.ts';
import type { ResolvedSimOptions } from './options.ts';

// vLLM's own bucket boundaries (vllm/v1/metrics/loggers.py).
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
];
const LATENCY_BUCKETS = [
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];
const QUEUE_BUCKETS = LATENCY_BUCKETS;

type ModelLabel = 'model_name';

export class SimMetrics {
  readonly registry = new Registry();
  readonly #models: readonly string[];
  readonly #promptTokens: Counter<ModelLabel>;
  readonly #generationTokens: Counter<ModelLabel>;
  readonly #prefixQueries: Counter<ModelLabel>;
  readonly #prefixHits: Counter<ModelLabel>;
  readonly #success: Counter<ModelLabel | 'finished_reason'>;
  readonly #ttft: Histogram<ModelLabel>;
  readonly #e2e: Histogram<ModelLabel>;
  readonly #queue: Histogram<ModelLabel>;
  readonly #engine: Engine;
  /** Preemptions already added to the counter. */
  readonly #preemptionsSeen = { count: 0 };

  constructor(options: ResolvedSimOptions, engine: Engine) {
    this.#models = options.models;
    this.#engine = engine;
    const registers = [this.registry];
    const primary = { model_name: options.models[0] ?? '' };
    const labelNames = ['model_name'] as const;

    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Number of requests in model execution batches.',
      labelNames,
      registers,
      collect() {
        this.set(primary, engine.running);
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Number of requests waiting to be processed.',
      labelNames,
      registers,
      collect() {
        this.set(primary, engine.waiting);
      },
    });
    new Gauge({
      name: 'vllm:kv_cache_usage_perc',
      help: 'KV-cache usage. 1 means 100 percent usage.',
      labelNames,
      registers,
      collect() {
        this.set(primary, engine.kv.usage);
      },
    });
    // The name vLLM used before 0.10; scrapers written against older pods read it.
    new Gauge({
      name: 'vllm:gpu_cache_usage_perc',
      help: 'GPU KV-cache usage. 1 means 100 percent usage (deprecated name).',
      labelNames,
      registers,
      collect() {
        this.set(primary, engine.kv.usage);
      },
    });
    const scheduler = engine.scheduler;
    const seen = this.#preemptionsSeen;
    new Counter({
      name: 'vllm:num_preemptions_total',
      help: 'Cumulative number of preemptions from the engine.',
      labelNames,
      registers,
      // A counter can't be set, so each scrape adds what happened since the previous one.
      collect() {
        this.inc(primary, scheduler.preemptions - seen.count);
        seen.count = scheduler.preemptions;
      },
    });
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig.',
      labelNames: ['block_size', 'num_gpu_blocks', 'enable_prefix_caching'] as const,
      registers,
      collect() {
        this.set(
          {
            block_size: String(options.blockSize),
            num_gpu_blocks: String(options.kvBlocks),
            enable_prefix_caching: 'True',
          },
          1,
        );
      },
    });

    this.#promptTokens = new Counter({
      name: 'vllm:prompt_tokens_total',
      help: 'Number of prefill tokens processed.',
      labelNames,
      registers,
    });
    this.#generationTokens = new Counter({
      name: 'vllm:generation_tokens_total',
      help: 'Number of generation tokens processed.',
      labelNames,
      registers,
    });
    this.#prefixQueries = new Counter({
      name: 'vllm:prefix_cache_queries_total',
      help: 'Prefix cache queries, in terms of number of queried tokens.',
      labelNames,
      registers,
    });
    this.#prefixHits = new Counter({
      name: 'vllm:prefix_cache_hits_total',
      help: 'Prefix cache hits, in terms of number of cached tokens.',
      labelNames,
      registers,
    });
    this.#success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: ['model_name', 'finished_reason'] as const,
      registers,
    });
    this.#ttft = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Histogram of time to first token in seconds.',
      labelNames,
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.#e2e = new Histogram({
      name: 'vllm:e2e_request_latency_seconds',
      help: 'Histogram of e2e request latency in seconds.',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#queue = new Histogram({
      name: 'vllm:request_queue_time_seconds',
      help: 'Histogram of time spent in WAITING phase for request.',
      labelNames,
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.#zero();
  }

  /** A request left the queue: the prefix cache was queried for its prompt. */
  admitted(model: string, promptTokens: number, cachedTokens: number, queueSeconds: number): void {
    const labels = { model_name: model };
    this.#prefixQueries.inc(labels, promptTokens);
    this.#prefixHits.inc(labels, cachedTokens);
    this.#queue.observe(labels, queueSeconds);
  }

  /** The prefill finished and the first token came out. */
  firstToken(model: string, promptTokens: number, ttftSeconds: number): void {
    const labels = { model_name: model };
    this.#promptTokens.inc(labels, promptTokens);
    this.#ttft.observe(labels, ttftSeconds);
  }

  /** Output tokens sampled (counted as they are generated). */
  generated(model: string, tokens: number): void {
    this.#generationTokens.inc({ model_name: model }, tokens);
  }

  /** A request ran to its end (not aborted). */
  finished(model: string, finishReason: 'length' | 'stop', e2eSeconds: number): void {
    this.#success.inc({ model_name: model, finished_reason: finishReason });
    this.#e2e.observe({ model_name: model }, e2eSeconds);
  }

  /** Prometheus text exposition. */
  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Zeroes every series (a DELETE /sim/stats or reset). */
  reset(): void {
    this.registry.resetMetrics();
    this.#preemptionsSeen.count = this.#engine.scheduler.preemptions;
    this.#zero();
  }

  // Series exist from the start, so a scraper sees 0 rather than nothing for each model.
  #zero(): void {
    for (const model of this.#models) {
      const labels = { model_name: model };
      this.#promptTokens.inc(labels, 0);
      this.#generationTokens.inc(labels, 0);
      this.#prefixQueries.inc(labels, 0);
      this.#prefixHits.inc(labels, 0);
      for (const reason of ['length', 'stop']) this.#success.inc({ ...labels, finished_reason: reason }, 0);
    }
  }
}
