/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the pod with the highest
 * weight(key, pod). Every router replica computes the same weights from the same strings, so
 * they agree without talking; removing a pod moves only the keys that pod held, and adding
 * one takes about 1/n of the keys, from every other pod evenly.
 *
 * weight = fmix32(FNV-1a(key · 0 · podId)): FNV-1a is cheap and allocation-free over UTF-16
 * code units; murmur3's finaliser then avalanches it, since plain FNV-1a barely changes
 * the high bits between ids that differ only in their last character (`pod-1`, `pod-2`).
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a state after `key`, to be continued per pod by {@link rendezvousWeight}. */
export function hashKey(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  // A zero separator, so ('ab', 'c') and ('a', 'bc') hash differently.
  return Math.imul(h, FNV_PRIME);
}

/** The weight of `podId` for a key hashed with {@link hashKey}: an unsigned 32-bit integer. */
export function rendezvousWeight(keyHash: number, podId: string): number {
  let h = keyHash;
  for (let i = 0; i < podId.length; i++) h = Math.imul(h ^ podId.charCodeAt(i), FNV_PRIME);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * True when `a` beats `b` for the key: higher weight, or on the (1 in 2^32) equal weight the
 * smaller id, so the order is total and the same on every replica.
 */
export function rendezvousBeats(weightA: number, idA: string, weightB: number, idB: string): boolean {
  return weightA > weightB || (weightA === weightB && idA < idB);
}

/** The element of `pods` that owns `key`; undefined only when `pods` is empty. */
export function rendezvousPick<P extends { readonly id: string }>(
  key: string,
  pods: readonly P[],
): P | undefined {
  const keyHash = hashKey(key);
  let best: P | undefined;
  let bestWeight = 0;
  for (const pod of pods) {
    const weight = rendezvousWeight(keyHash, pod.id);
    if (best === undefined || rendezvousBeats(weight, pod.id, bestWeight, best.id)) {
      best = pod;
      bestWeight = weight;
    }
  }
  return best;
}
