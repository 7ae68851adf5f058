/**
 * Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`:
 *
 *   norm = sqrt(sum_i ||g_i||^2)
 *   g_i <- g_i * min(1, maxNorm / (norm + 1e-6))
 *
 * The training loop does not multiply the gradients here: it passes the coefficient to AdamW,
 * which scales each gradient as it reads it (`AdamW.apply`'s `gradScale`, one pass fewer over
 * every gradient). With the native addon on the wasm backend the sum of squares is one native pass
 * per gradient, accumulated in double precision (kernels/sum-squares.ts); elsewhere TF.js ops in
 * float32. Both sum in map order, so the result is deterministic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { canSumSquaresNatively, nativeSumSquares } from '../kernels/sum-squares.js';

/** sqrt of the sum of squares of every gradient element, as a number (NaN or Infinity if a gradient holds one). */
export function globalNormValue(grads: ReadonlyMap<string, tf.Tensor>): number {
  const all = [...grads.values()];
  if (canSumSquaresNatively() && all.every((g) => g.dtype === 'float32')) {
    let total = 0;
    for (const g of all) total += nativeSumSquares(g);
    return Math.sqrt(total);
  }
  const norm = tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const g of all) total = tf.add(total, tf.sum(tf.square(g)));
    return tf.sqrt(total);
  });
  const value = norm.dataSync()[0]!;
  norm.dispose();
  return value;
}

/** `globalNormValue` as a scalar tensor (the caller disposes it). */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.scalar(globalNormValue(grads));
}

/**
 * The factor clipping multiplies every gradient by: min(1, maxNorm / (norm + 1e-6)), rounded to
 * float32 at each step as PyTorch's float32 tensors do. 1 when `maxNorm` is Infinity.
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ConfigError(`maxNorm must be > 0 (Infinity disables clipping), got ${maxNorm}`);
  if (maxNorm === Infinity) return 1;
  const f = Math.fround;
  return Math.min(f(f(maxNorm) / f(f(norm) + f(1e-6))), 1);
}

/**
 * Scale the gradients so their global norm is at most `maxNorm` (`Infinity` = no clipping).
 * Returns new tensors (the caller disposes them, e.g. inside `tf.tidy`) and the norm before clipping.
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { readonly grads: Map<string, tf.Tensor>; readonly norm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new ConfigError(`maxNorm must be > 0 (Infinity disables clipping), got ${maxNorm}`);
  const value = globalNormValue(grads);
  const coef = clipCoefficient(value, maxNorm);
  const out = new Map<string, tf.Tensor>();
  if (coef === 1) for (const [k, g] of grads) out.set(k, tf.clone(g));
  else {
    const c = tf.scalar(coef);
    for (const [k, g] of grads) out.set(k, tf.mul(g, c));
    c.dispose();
  }
  return { grads: out, norm: tf.scalar(value) };
}
