/**
 * Min-max normalisation for lower-is-better quantities, shared by the load and balance
 * scorers: score = 1 − (v − min) / max(max − min, minSpread), so the best candidate scores 1,
 * all equal → all 1, and a spread of at least `minSpread` maps the worst to 0. The floor keeps
 * a difference of one request or one workflow, which is noise, from swinging a whole weight.
 */

/** Rewrites `values` in place into scores in [0,1] and returns it. */
export function lowerIsBetter(values: number[], minSpread: number): number[] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const spread = Math.max(max - min, minSpread);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? min;
    values[i] = spread > 0 ? 1 - (v - min) / spread : 1;
  }
  return values;
}
