// The statistics of a benchmark run, as pure functions on plain numbers so that the tests can
// check them on small known inputs: percentiles, token-weighted hit rates, the oracle hit
// rate, KV duplication and load imbalance.

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * The p-th percentile (0..100) of ascending `sorted` values, interpolating linearly between
 * the two closest ranks (numpy's default, "type 7"). NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    count: n,
    mean: n === 0 ? NaN : sum / n,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n === 0 ? NaN : (sorted[n - 1] as number),
  };
}

/** Token-weighted hit rate: cached prompt tokens over prompt tokens (0 when there were none). */
export function tokenHitRate(calls: readonly { promptTokens: number; cachedTokens: number }[]): number {
  let prompt = 0;
  let cached = 0;
  for (const c of calls) {
    prompt += c.promptTokens;
    cached += c.cachedTokens;
  }
  return prompt === 0 ? 0 : cached / prompt;
}

/** One call as the oracle sees it: the prompt's chained block hashes, as the pod computed them. */
export interface OracleCall {
  promptTokens: number;
  /** Chained hashes of the prompt's full blocks (sim/block-hash.ts). */
  blockHashes: readonly number[];
  /** When the call completed; calls are taken in this order. */
  completedAt: number;
}

export interface OracleResult {
  promptTokens: number;
  cachedTokens: number;
  rate: number;
}

/**
 * The most any placement could reuse, with unbounded KV cache: every call, taken in completion
 * order, hits the longest run of leading full blocks that some earlier call also had (chained
 * hashes, so a matching block implies a matching prefix), never its last prompt token (as vLLM
 * and the simulator never do). This is the hit rate of one infinite pod serving every call in
 * that order, an upper bound for any number of pods and any routing.
 */
export function oracleHitRate(calls: readonly OracleCall[], blockSize: number): OracleResult {
  const ordered = calls
    .map((c, i) => ({ c, i }))
    .sort((x, y) => x.c.completedAt - y.c.completedAt || x.i - y.i);
  const seen = new Set<number>();
  let promptTokens = 0;
  let cachedTokens = 0;
  for (const { c } of ordered) {
    const limit = Math.min(c.blockHashes.length, Math.floor(Math.max(0, c.promptTokens - 1) / blockSize));
    let matched = 0;
    while (matched < limit && seen.has(c.blockHashes[matched] as number)) matched++;
    promptTokens += c.promptTokens;
    cachedTokens += matched * blockSize;
    for (const h of c.blockHashes) seen.add(h);
  }
  return { promptTokens, cachedTokens, rate: promptTokens === 0 ? 0 : cachedTokens / promptTokens };
}

/**
 * KV duplication: resident blocks summed over pods, over distinct blocks (by hash) across
 * pods. 1 means no block is cached twice; 4 means every block sits on four pods. 1 when empty.
 */
export function kvDuplication(residentPerPod: readonly (readonly (string | number)[])[]): number {
  let total = 0;
  const distinct = new Set<string | number>();
  for (const pod of residentPerPod) {
    total += pod.length;
    for (const h of pod) distinct.add(h);
  }
  return distinct.size === 0 ? 1 : total / distinct.size;
}

/** Max over mean of per-pod loads: 1 is perfectly even, N (of N pods) is all on one pod. */
export function maxOverMean(loads: readonly number[]): number {
  if (loads.length === 0) return 1;
  let max = -Infinity;
  let sum = 0;
  for (const l of loads) {
    if (l > max) max = l;
    sum += l;
  }
  const mean = sum / loads.length;
  return mean <= 0 ? 1 : max / mean;
}

/** Mean of numbers, NaN for none. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
