// vLLM's automatic prefix caching names every full KV block by a hash chained over its
// parent block's hash and its own token ids, so a block hash identifies the whole prefix
// up to that block. Same here, with a 53-bit integer hash instead of SHA-256.

import { fmix32, fnv1a, hiLane, loLane, pack53 } from './hash.ts';

const LANE_B_SEED = 0x2545f491;

/**
 * The hash a model's first block chains from. Different served models never share cache
 * entries, as LoRA adapters on one vLLM engine don't (their id is part of the block key).
 */
export function rootHash(model: string): number {
  return pack53(fnv1a(model), fnv1a(model, LANE_B_SEED));
}

/** Hash of one block given its parent's hash and its tokens `tokens[start, start + size)`. */
export function hashBlock(parent: number, tokens: ArrayLike<number>, start: number, size: number): number {
  let a = fmix32(hiLane(parent) ^ 0x9e3779b9) ^ loLane(parent);
  let b = fmix32(loLane(parent) ^ LANE_B_SEED) ^ hiLane(parent);
  for (let i = start; i < start + size; i++) {
    const t = tokens[i] ?? 0;
    a = Math.imul(a ^ t, 0x01000193);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b + t, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return pack53(fmix32(a ^ size), fmix32(b ^ Math.imul(size, 0x27d4eb2d)));
}

/** Chained hashes of every full block of `tokens` (a trailing partial block has none). */
export function blockHashes(tokens: ArrayLike<number>, blockSize: number, root: number): number[] {
  const count = Math.floor(tokens.length / blockSize);
  const hashes = new Array<number>(count);
  let parent = root;
  for (let i = 0; i < count; i++) {
    parent = hashBlock(parent, tokens, i * blockSize, blockSize);
    hashes[i] = parent;
  }
  return hashes;
}

/** A block hash as the fixed-width hex string `/sim/stats?blocks=1` reports. */
export function formatBlockHash(hash: number): string {
  return hash.toString(16).padStart(14, '0');
}
