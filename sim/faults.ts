// Fault injection for tests of whatever sits in front of the pod (the router): each knob
// breaks one thing a real vLLM pod can break. Set as a whole with POST /sim/faults; `{}`
// clears. Every draw of `failRate` comes from a PRNG seeded with --seed and restarted on
// each change, so a test sees the same sequence of failures every run.

import { z } from 'zod';
import { mulberry32 } from './hash.ts';

export const faultsSchema = z
  .object({
    /** GET /health answers 503. */
    unhealthy: z.boolean().optional(),
    /** Fraction of completion requests answered 500 (OpenAI error shape). */
    failRate: z.number().min(0).max(1).optional(),
    /** Wall-clock milliseconds added before a request is queued (not scaled by --time-scale). */
    extraLatencyMs: z.number().min(0).max(3_600_000).optional(),
    /** Completion requests are accepted and never answered until cleared or the client leaves. */
    hang: z.boolean().optional(),
    /** The connection is destroyed (no [DONE], no response) once this many tokens were generated. */
    dropStreamAfterTokens: z.number().int().min(0).optional(),
  })
  .strict();

export type Faults = z.infer<typeof faultsSchema>;

export class FaultState {
  #faults: Faults = {};
  readonly #seed: number;
  #draw: () => number;
  readonly #hangWaiters = new Set<() => void>();

  constructor(seed: number) {
    this.#seed = seed;
    this.#draw = mulberry32(seed);
  }

  get current(): Faults {
    return { ...this.#faults };
  }

  /** Replaces every fault at once; requests held by `hang` resume when it is turned off. */
  set(faults: Faults): Faults {
    this.#faults = { ...faults };
    this.#draw = mulberry32(this.#seed);
    if (this.#faults.hang !== true) {
      for (const resume of [...this.#hangWaiters]) resume();
    }
    return this.current;
  }

  clear(): Faults {
    return this.set({});
  }

  get unhealthy(): boolean {
    return this.#faults.unhealthy === true;
  }

  get extraLatencyMs(): number {
    return this.#faults.extraLatencyMs ?? 0;
  }

  get dropAfterTokens(): number | undefined {
    return this.#faults.dropStreamAfterTokens;
  }

  /** Decides whether this completion request fails; one draw per request. */
  shouldFail(): boolean {
    const rate = this.#faults.failRate ?? 0;
    return rate > 0 && this.#draw() < rate;
  }

  /**
   * Resolves once `hang` is off: at once when it isn't set, otherwise when it is cleared
   * or `signal` aborts (the client left); resolves false in that last case.
   */
  async holdWhileHanging(signal: AbortSignal): Promise<boolean> {
    if (this.#faults.hang !== true) return true;
    if (signal.aborted) return false;
    return new Promise<boolean>((resolve) => {
      const done = (resumed: boolean): void => {
        this.#hangWaiters.delete(onResume);
        signal.removeEventListener('abort', onAbort);
        resolve(resumed);
      };
      const onResume = (): void => done(true);
      const onAbort = (): void => done(false);
      this.#hangWaiters.add(onResume);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Requests currently held by `hang`. */
  get hanging(): number {
    return this.#hangWaiters.size;
  }
}
