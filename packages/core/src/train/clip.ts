/**
 * Global-norm gradient clipping, as `torch.nn.utils.clip_grad_norm_`:
 *
 *   norm = sqrt(sum_i ||g_i||^2)
 *   g_i <- g_i * min(1, maxNorm / (norm + 1e-6))
 *
 * Sums in map order, so the result is deterministic.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/** sqrt of the sum of squares of every gradient element. */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    for (const g of grads.values()) total = tf.add(total, tf.sum(tf.square(g)));
    return tf.sqrt(total) as tf.Scalar;
  });
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
  const norm = globalNorm(grads);
  const out = new Map<string, tf.Tensor>();
  if (maxNorm === Infinity) {
    for (const [k, g] of grads) out.set(k, tf.clone(g));
    return { grads: out, norm };
  }
  const coef = tf.tidy(() => tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))), tf.scalar(1)));
  for (const [k, g] of grads) out.set(k, tf.mul(g, coef));
  coef.dispose();
  return { grads: out, norm };
}
