/**
 * What prompt prefixes each pod has seen, so prefix-aware scoring can guess where the KV cache
 * holds a prompt's beginning. Prompts are cut into fixed character chunks (64 chars ≈ 16 tokens,
 * one vLLM block) and each chunk's hash is chained over its predecessor's, as vLLM chains block
 * hashes: a match on chunk i implies the whole prefix up to i matches.
 */
export const CHUNK_CHARS = 64;

/** FNV-1a over a string, continuing from `seed`: fast, and good enough to tell chunks apart. */
function fnv1a(text: string, start: number, end: number, seed: number): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Chained hashes of the full chunks of a prompt (a trailing partial chunk is never cached). */
export function chunkHashes(text: string, maxChunks = 2048): number[] {
  const count = Math.min(Math.floor(text.length / CHUNK_CHARS), maxChunks);
  const hashes = new Array<number>(count);
  let parent = 0x811c9dc5;
  for (let i = 0; i < count; i++) {
    parent = fnv1a(text, i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS, parent ^ Math.imul(i + 1, 0x9e3779b1));
    hashes[i] = parent;
  }
  return hashes;
}

/** Per-pod sets of chunk hashes, each bounded and evicted oldest-first like an LRU cache. */
export class PrefixIndex {
  private readonly perPod = new Map<string, Map<number, true>>();
  private readonly capacity: number;

  constructor(capacityPerPod = 200_000) {
    this.capacity = capacityPerPod;
  }

  /** Leading chunks of `hashes` the pod has seen. */
  matched(pod: string, hashes: readonly number[]): number {
    const seen = this.perPod.get(pod);
    if (!seen) return 0;
    let n = 0;
    while (n < hashes.length && seen.has(hashes[n] as number)) n++;
    return n;
  }

  matches(pods: readonly string[], hashes: readonly number[]): Map<string, number> {
    const result = new Map<string, number>();
    if (hashes.length === 0) return result;
    for (const pod of pods) {
      const n = this.matched(pod, hashes);
      if (n > 0) result.set(pod, n);
    }
    return result;
  }

  /** Records that the pod now caches these chunks (refreshing their recency). */
  record(pod: string, hashes: readonly number[]): void {
    let seen = this.perPod.get(pod);
    if (!seen) {
      seen = new Map();
      this.perPod.set(pod, seen);
    }
    for (const h of hashes) {
      seen.delete(h);
      seen.set(h, true);
    }
    while (seen.size > this.capacity) {
      const oldest = seen.keys().next();
      if (oldest.done) break;
      seen.delete(oldest.value);
    }
  }

  forget(pod: string): void {
    this.perPod.delete(pod);
  }
}
