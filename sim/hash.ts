// Small non-cryptographic hashes. The simulator hashes every prompt token and block on the
// hot path, so these stay allocation-free integer arithmetic (Math.imul, shifts).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TWO_32 = 0x1_0000_0000;

/** FNV-1a over a string's UTF-16 code units, as an unsigned 32-bit integer. */
export function fnv1a(text: string, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  }
  return h >>> 0;
}

/** Murmur3's finaliser: spreads every input bit over the whole 32-bit word. */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines two 32-bit values into one well-mixed 32-bit value (order matters). */
export function mix2(a: number, b: number): number {
  return fmix32(Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ fmix32(b + 0x7f4a7c15));
}

/** Combines three 32-bit values into one (for (seed, prompt, index) style keys). */
export function mix3(a: number, b: number, c: number): number {
  return mix2(mix2(a, b), c);
}

/**
 * A 53-bit hash packed into a safe integer: two independent 32-bit lanes so collisions
 * among the few hundred thousand blocks a pod holds are practically impossible.
 */
export function pack53(hi: number, lo: number): number {
  return (hi >>> 11) * TWO_32 + (lo >>> 0);
}

/** The high lane of a packed 53-bit hash (21 significant bits). */
export function hiLane(packed: number): number {
  return Math.floor(packed / TWO_32);
}

/** The low lane of a packed 53-bit hash. */
export function loLane(packed: number): number {
  return packed >>> 0;
}

/** A seeded 32-bit PRNG (mulberry32): deterministic fault draws from `--seed`. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  };
}
