/**
 * Masked next-token cross-entropy.
 *
 * Legend: B batch, T time, V vocabulary, N = B * T.
 *
 *   loss = sum_{b,t} mask[b,t] * -log softmax(logits[b,t])[targets[b,t]] / denominator
 *
 * with `denominator = sum(mask)` by default (the mean over counted positions). Gradient
 * accumulation passes the whole step's count so that k micro-batches sum to the big batch's loss.
 * Uses a one-hot product instead of gather, so its gradient needs no UnsortedSegmentSum (absent
 * on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
// Registered directly too: with @zipper/core's `"sideEffects": false` the bundler drops the
// side-effect-only import of ../kernels/gradients.js from dist/, and training then fails with
// "gradient function not found". tfjs-core marks this file as having side effects, so it stays.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

export function maskedCrossEntropy(
  logits: tf.Tensor3D, // [B, T, V]
  targets: tf.Tensor2D, // int32 [B, T]
  mask?: tf.Tensor2D, // float32 [B, T] of 0/1; absent = all ones
  denominator?: number,
): tf.Scalar {
  const [B, T, V] = logits.shape;
  if (targets.rank !== 2 || targets.shape[0] !== B || targets.shape[1] !== T) {
    throw new ShapeError(`targets must be [B, T] = [${B}, ${T}] to match logits [${logits.shape}], got [${targets.shape}]`);
  }
  if (targets.dtype !== 'int32') throw new ShapeError(`targets must be int32, got ${targets.dtype}`);
  if (mask && (mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
    throw new ShapeError(`mask must be [B, T] = [${B}, ${T}], got [${mask.shape}]`);
  }
  return tf.tidy(() => {
    const logp = tf.logSoftmax(tf.reshape(logits, [B * T, V])); // [N, V]
    const onehot = tf.oneHot(tf.reshape(targets, [B * T]), V); // [N, V]
    const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1)); // [N]
    const w = mask ? tf.reshape(tf.cast(mask, 'float32'), [B * T]) : tf.onesLike(nll);
    const total = tf.sum(tf.mul(nll, w));
    const denom = denominator ?? (mask ? (tf.sum(w).dataSync()[0] as number) : B * T);
    if (!(denom > 0)) throw new ShapeError('the loss mask selects no position (sum(mask) = 0); every batch needs at least one target with mask 1');
    return tf.div(total, tf.scalar(denom)) as tf.Scalar;
  });
}
