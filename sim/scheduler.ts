// vLLM's scheduling loop as pure logic, without timers: which requests run in the next
// engine step, how many prompt tokens each prefills, which decode one token, and how long
// the step takes. The engine (engine.ts) owns the clock and calls planStep / commitStep.
//
// Model, after vLLM v1 with chunked prefill and FCFS policy:
// - running requests are served first, in admission order, then waiting ones are admitted
//   in FIFO order while fewer than maxNumSeqs run, the step's token budget lasts and the
//   KV cache can hold the head's prompt (head-of-line: a head that doesn't fit blocks the
//   queue, no skipping ahead);
// - a request reuses the longest run of resident full blocks from its start, but never its
//   last prompt token (the model must compute at least one position to sample from);
// - a prefill that exceeds the step budget continues in later steps; the step that
//   finishes it samples the first token;
// - a decoding request that crosses a block boundary needs one more block; when none is
//   free the most recently admitted request is preempted (its blocks released, back to the
//   front of the queue, recomputed later), as vLLM's recompute preemption does;
// - step time = prefill tokens x prefillMsPerToken
//             + (any decode ? decodeMsPerToken x (1 + batchSlowdown x (batch size - 1)) : 0).

import type { KvCache } from './kv-cache.ts';

export type FinishReason = 'length' | 'stop' | 'abort';
export type SequenceState = 'waiting' | 'running' | 'finished';

export interface SchedulerConfig {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  prefillMsPerToken: number;
  decodeMsPerToken: number;
  batchSlowdown: number;
}

export interface SequenceInit {
  promptTokens: number;
  /** Chained hashes of the prompt's full blocks. */
  blockHashes: readonly number[];
  maxTokens: number;
}

/** One request inside the engine. */
export class Sequence {
  readonly id: number;
  readonly promptTokens: number;
  readonly blockHashes: readonly number[];
  readonly maxTokens: number;
  state: SequenceState = 'waiting';
  /** Output tokens sampled so far. */
  generated = 0;
  /** Tokens whose KV is computed and held in `blocks`. */
  computed = 0;
  /** Tokens to compute before the next sample: prompt (+ earlier output after a preemption). */
  prefillTarget = 0;
  blocks: number[] = [];
  /** Prompt tokens served from the cache at first admission; undefined until then. */
  cachedTokens: number | undefined;
  admissions = 0;
  preemptions = 0;
  finishReason: FinishReason | undefined;

  constructor(id: number, init: SequenceInit) {
    this.id = id;
    this.promptTokens = init.promptTokens;
    this.blockHashes = init.blockHashes;
    this.maxTokens = init.maxTokens;
  }

  get prefilling(): boolean {
    return this.computed < this.prefillTarget;
  }
}

export interface StepWork {
  seq: Sequence;
  /** Prompt tokens computed in this step (0 for a decode). */
  prefill: number;
  decode: boolean;
}

export interface StepPlan {
  work: StepWork[];
  /** Requests admitted from the queue in this step (including re-admissions after preemption). */
  admitted: Sequence[];
  preempted: Sequence[];
  prefillTokens: number;
  decodes: number;
  /** Simulated duration of the step, before time scaling. */
  durationMs: number;
}

export interface TokenEvent {
  seq: Sequence;
  /** 0-based index of the output token just sampled. */
  index: number;
}

export class Scheduler {
  readonly kv: KvCache;
  readonly config: SchedulerConfig;
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  preemptions = 0;
  #nextId = 1;

  constructor(kv: KvCache, config: SchedulerConfig) {
    this.kv = kv;
    this.config = config;
  }

  /** Blocks a request needs at its longest (prompt plus every output token). */
  blocksNeeded(promptTokens: number, maxTokens: number): number {
    return Math.ceil((promptTokens + maxTokens) / this.kv.blockSize);
  }

  /** Queues a request at the back of the FIFO. */
  submit(init: SequenceInit): Sequence {
    if (init.promptTokens < 1) throw new RangeError('a prompt needs at least one token');
    if (init.maxTokens < 1) throw new RangeError('maxTokens must be >= 1');
    if (this.blocksNeeded(init.promptTokens, init.maxTokens) > this.kv.totalBlocks) {
      throw new RangeError('request does not fit in the KV cache');
    }
    const seq = new Sequence(this.#nextId++, init);
    this.waiting.push(seq);
    return seq;
  }

  /** Whether any request is queued or running. */
  get busy(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /** Decides the next step's batch; allocates and preempts as it goes. */
  planStep(): StepPlan {
    const bs = this.kv.blockSize;
    let budget = this.config.maxNumBatchedTokens;
    const work: StepWork[] = [];
    const admitted: Sequence[] = [];
    const preempted: Sequence[] = [];
    let prefillTokens = 0;
    let decodes = 0;

    for (const seq of [...this.running]) {
      if (seq.state !== 'running' || budget <= 0) continue;
      if (seq.prefilling) {
        const chunk = Math.min(seq.prefillTarget - seq.computed, budget);
        work.push({ seq, prefill: chunk, decode: false });
        budget -= chunk;
        prefillTokens += chunk;
        continue;
      }
      if (seq.blocks.length * bs <= seq.computed) {
        let block = this.kv.allocateOne();
        while (block === null) {
          const victim = this.running[this.running.length - 1];
          if (victim === undefined) break;
          this.#preempt(victim);
          preempted.push(victim);
          if (victim === seq) break;
          block = this.kv.allocateOne();
        }
        if (block === null) continue;
        seq.blocks.push(block);
      }
      work.push({ seq, prefill: 0, decode: true });
      budget -= 1;
      decodes++;
    }

    // As in vLLM, nothing new is admitted in a step that had to preempt.
    while (preempted.length === 0 && budget > 0 && this.running.length < this.config.maxNumSeqs) {
      const seq = this.waiting[0];
      if (seq === undefined) break;
      const target = seq.promptTokens + seq.generated;
      const limit = Math.floor((target - 1) / bs);
      const cached = this.kv.matchPrefix(seq.blockHashes, limit);
      const blocks = this.kv.allocate(seq.blockHashes, cached, Math.ceil(target / bs) - cached);
      if (blocks === null) break;
      this.waiting.shift();
      seq.state = 'running';
      seq.blocks = blocks;
      seq.computed = cached * bs;
      seq.prefillTarget = target;
      seq.admissions++;
      seq.cachedTokens ??= seq.computed;
      this.running.push(seq);
      admitted.push(seq);
      const chunk = Math.min(target - seq.computed, budget);
      work.push({ seq, prefill: chunk, decode: false });
      budget -= chunk;
      prefillTokens += chunk;
    }

    const c = this.config;
    const decodeMs = decodes > 0 ? c.decodeMsPerToken * (1 + c.batchSlowdown * (work.length - 1)) : 0;
    return {
      work,
      admitted,
      preempted,
      prefillTokens,
      decodes,
      durationMs: prefillTokens * c.prefillMsPerToken + decodeMs,
    };
  }

  /**
   * Applies a planned step once its time has passed: KV becomes computed (full prompt
   * blocks become cacheable) and tokens are sampled. Requests finished or aborted while
   * the step ran are skipped. Finishing on length or stop is the caller's decision.
   */
  commitStep(plan: StepPlan): TokenEvent[] {
    const bs = this.kv.blockSize;
    const events: TokenEvent[] = [];
    for (const { seq, prefill, decode } of plan.work) {
      if (seq.state !== 'running') continue;
      if (decode) {
        seq.computed += 1;
      } else {
        const before = seq.computed;
        seq.computed += prefill;
        const fullBefore = Math.floor(before / bs);
        const fullAfter = Math.min(Math.floor(seq.computed / bs), seq.blockHashes.length);
        for (let b = fullBefore; b < fullAfter; b++) {
          this.kv.register(seq.blocks[b] as number, seq.blockHashes[b] as number);
        }
        if (seq.computed < seq.prefillTarget) continue;
      }
      events.push({ seq, index: seq.generated });
      seq.generated += 1;
    }
    return events;
  }

  /** Ends a request (finished or aborted) and releases its blocks. Idempotent. */
  finish(seq: Sequence, reason: FinishReason): void {
    if (seq.state === 'finished') return;
    if (seq.state === 'running') {
      removeItem(this.running, seq);
      this.kv.release(seq.blocks);
    } else {
      removeItem(this.waiting, seq);
    }
    seq.blocks = [];
    seq.state = 'finished';
    seq.finishReason = reason;
  }

  #preempt(seq: Sequence): void {
    removeItem(this.running, seq);
    this.kv.release(seq.blocks);
    seq.blocks = [];
    seq.computed = 0;
    seq.prefillTarget = 0;
    seq.state = 'waiting';
    seq.preemptions++;
    this.preemptions++;
    this.waiting.unshift(seq);
  }
}

function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
