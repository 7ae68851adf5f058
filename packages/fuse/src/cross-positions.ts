/**
 * Weighted source positions of a cross-rope pair (config.crossRope's `sourceWeights`; docs/zipper.md,
 * "Weighted source positions"; not in the paper): a source position's rotary position is the sum of
 * the weights of the row's source positions before it (padding, global index -1, weighs 0), where
 * the plain pair uses its index. With every weight 1 the two agree exactly. A decoding state keeps
 * each row's sum so far (ZipperState `sourceWeightSums`), so a source may grow step by step.
 *
 * Legend: B batch, S source positions (one tower's stream, row-major [B, S]).
 */

/** Per-position weights [B * S] (float64: the table's own values): `table[id]` at real positions, 0 at padding. */
export function sourcePositionWeights(table: readonly number[], ids: Int32Array, global: Int32Array, b: number, s: number): Float64Array {
  const out = new Float64Array(b * s);
  for (let i = 0; i < b * s; i++) if ((global[i] as number) >= 0) out[i] = table[ids[i] as number] as number;
  return out;
}

/**
 * Each position's rotary position [B * S]: the sum, in float64, of the weights before it in its
 * row, after `start[r]` (a decoding state's sum of the row's earlier positions; default 0); and
 * each row's sum after all of them [B], where the row's next positions start.
 */
export function weightedPositions(
  weights: Float64Array,
  b: number,
  s: number,
  start?: Float64Array,
): { positions: Float32Array; sums: Float64Array } {
  const positions = new Float32Array(b * s);
  const sums = new Float64Array(b);
  for (let r = 0; r < b; r++) {
    let sum = start ? (start[r] as number) : 0;
    for (let j = 0; j < s; j++) {
      positions[r * s + j] = sum;
      sum += weights[r * s + j] as number;
    }
    sums[r] = sum;
  }
  return { positions, sums };
}
