// One simulated vLLM pod without its HTTP layer: engine, KV cache, metrics, request
// records and faults, and the operations the /sim/* endpoints expose.

import { Engine } from './engine.ts';
import { FaultState } from './faults.ts';
import { createLogger } from './log.ts';
import type { Logger } from './log.ts';
import { SimMetrics } from './metrics.ts';
import type { ResolvedSimOptions } from './options.ts';
import { RequestStats, MAX_RECORDS } from './stats.ts';
import type { RequestRecord, StatsTotals } from './stats.ts';
import { formatBlockHash, rootHash } from './block-hash.ts';

/** The JSON of GET /sim/stats. */
export interface SimStats {
  pod: number;
  models: readonly string[];
  residentBlocks: number;
  blockHashes?: string[];
  usedBlocks: number;
  totalBlocks: number;
  blockSize: number;
  running: number;
  waiting: number;
  /** Requests held by the `hang` fault. */
  hanging: number;
  preemptions: number;
  evictions: number;
  totals: StatsTotals;
  requests: RequestRecord[];
}

export interface SnapshotQuery {
  /** Only the last `limit` records. */
  limit?: number;
  /** Include the hashes of resident blocks. */
  blocks?: boolean;
}

export class PodRuntime {
  readonly index: number;
  readonly options: ResolvedSimOptions;
  readonly engine: Engine;
  readonly metrics: SimMetrics;
  readonly stats = new RequestStats();
  readonly faults: FaultState;
  readonly logger: Logger;
  /** The context length enforced: a sequence must also fit in the whole KV cache. */
  readonly maxModelLen: number;
  readonly #roots = new Map<string, number>();

  constructor(options: ResolvedSimOptions, index: number) {
    this.index = index;
    this.options = options;
    this.engine = new Engine(options);
    this.metrics = new SimMetrics(options, this.engine);
    this.faults = new FaultState(options.seed);
    this.logger = createLogger(options.logLevel, index);
    this.maxModelLen = Math.min(options.maxModelLen, options.kvBlocks * options.blockSize);
    for (const model of options.models) this.#roots.set(model, rootHash(model));
  }

  /** The hash a model's block chain starts from. */
  rootHash(model: string): number {
    return this.#roots.get(model) ?? rootHash(model);
  }

  snapshot(query: SnapshotQuery = {}): SimStats {
    const kv = this.engine.kv;
    return {
      pod: this.index,
      models: this.options.models,
      residentBlocks: kv.residentBlocks,
      ...(query.blocks === true ? { blockHashes: kv.residentHashes().map(formatBlockHash) } : {}),
      usedBlocks: kv.usedBlocks,
      totalBlocks: kv.totalBlocks,
      blockSize: kv.blockSize,
      running: this.engine.running,
      waiting: this.engine.waiting,
      hanging: this.faults.hanging,
      preemptions: this.engine.scheduler.preemptions,
      evictions: kv.counters.evictions,
      totals: this.stats.totals,
      requests: this.stats.recent(query.limit ?? MAX_RECORDS),
    };
  }

  /** Forgets records, totals and metric values; the KV cache stays warm. */
  clearStats(): void {
    this.stats.reset();
    this.engine.kv.counters.evictions = 0;
    this.engine.scheduler.preemptions = 0;
    this.metrics.reset();
  }

  /** A cold restart without a new process: statistics and every cached prefix are gone. */
  reset(): void {
    this.clearStats();
    this.engine.clearCache();
  }

  async close(): Promise<void> {
    await this.engine.close();
    this.logger.close();
  }
}
