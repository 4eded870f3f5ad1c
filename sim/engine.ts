// One engine loop per pod: plan a step, let its simulated time pass, commit it, deliver
// the sampled tokens, repeat while there is work. One timer per step for the whole batch,
// never one per request per token, so hundreds of streams stay cheap.
//
// Time is kept against an absolute deadline rather than by sleeping each step's length:
// timers fire late by a millisecond or more, and steps scaled by --time-scale are often
// far shorter than that. Steps shorter than a millisecond run back to back (yielding to
// I/O between them) until the deadline is ahead of the clock again.

import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import { KvCache } from './kv-cache.ts';
import { Scheduler } from './scheduler.ts';
import type { FinishReason, Sequence, SequenceInit } from './scheduler.ts';
import type { ResolvedSimOptions } from './options.ts';

/** How far behind its deadline the loop may fall before it stops trying to catch up. */
const MAX_LAG_MS = 20;

/** Callbacks of one request, called from the engine loop. */
export interface SequenceListener {
  /** The request left the queue for the first time. */
  onAdmitted(seq: Sequence): void;
  /** An output token was sampled; return false to stop the request (a stop string matched). */
  onToken(seq: Sequence, index: number): boolean;
  /** The request ended; it holds no KV blocks any more. Called exactly once. */
  onFinish(seq: Sequence, reason: FinishReason): void;
}

export class Engine {
  readonly kv: KvCache;
  readonly scheduler: Scheduler;
  readonly #timeScale: number;
  readonly #listeners = new Map<Sequence, SequenceListener>();
  #looping = false;
  #closed = false;
  /** Cuts the current step's sleep short on close. */
  readonly #stop = new AbortController();
  /** Resolves when the current loop exits (for close()). */
  #loopDone: Promise<void> = Promise.resolve();

  constructor(options: ResolvedSimOptions) {
    this.kv = new KvCache(options.kvBlocks, options.blockSize);
    this.scheduler = new Scheduler(this.kv, options);
    this.#timeScale = options.timeScale;
  }

  get running(): number {
    return this.scheduler.running.length;
  }

  get waiting(): number {
    return this.scheduler.waiting.length;
  }

  /** Queues a request; its listener hears about admission, tokens and the end. */
  submit(init: SequenceInit, listener: SequenceListener): Sequence {
    if (this.#closed) throw new Error('engine is closed');
    const seq = this.scheduler.submit(init);
    this.#listeners.set(seq, listener);
    if (!this.#looping) this.#loopDone = this.#loop();
    return seq;
  }

  /** Stops a request wherever it is (client went away); releases its blocks at once. */
  abort(seq: Sequence): void {
    this.#finish(seq, 'abort');
  }

  /** Aborts everything and waits for the loop to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    for (const seq of [...this.#listeners.keys()]) this.#finish(seq, 'abort');
    await this.#loopDone;
  }

  #finish(seq: Sequence, reason: FinishReason): void {
    const listener = this.#listeners.get(seq);
    if (listener === undefined) return;
    this.#listeners.delete(seq);
    this.scheduler.finish(seq, reason);
    listener.onFinish(seq, reason);
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      let deadline = performance.now();
      while (!this.#closed && this.scheduler.busy) {
        const plan = this.scheduler.planStep();
        for (const seq of plan.admitted) {
          if (seq.admissions === 1) this.#listeners.get(seq)?.onAdmitted(seq);
        }
        if (plan.work.length === 0) {
          // Only reachable if every queued request was aborted during onAdmitted.
          await yieldToIo();
          continue;
        }
        const now = performance.now();
        deadline = Math.max(deadline + plan.durationMs * this.#timeScale, now - MAX_LAG_MS);
        const wait = deadline - now;
        if (wait >= 1) await sleep(wait, undefined, { signal: this.#stop.signal }).catch(() => undefined);
        else await yieldToIo();
        if (this.#closed) break;
        for (const { seq, index } of this.scheduler.commitStep(plan)) {
          const listener = this.#listeners.get(seq);
          if (listener === undefined) continue;
          const more = listener.onToken(seq, index);
          if (seq.state !== 'running') continue;
          if (!more) this.#finish(seq, 'stop');
          else if (seq.generated >= seq.maxTokens) this.#finish(seq, 'length');
        }
      }
    } finally {
      this.#looping = false;
    }
  }

  /** Forgets every cached prefix (requests in flight keep their blocks). */
  clearCache(): void {
    this.kv.clear();
  }
}
