/**
 * Masked next-token cross-entropy.
 *
 * Legend: B batch, T time, V vocabulary, N = B * T.
 *
 *   loss = sum_{b,t} mask[b,t] * -log softmax(logits[b,t])[targets[b,t]] / denominator
 *
 * with `denominator = sum(mask)` by default (the mean over counted positions). Gradient
 * accumulation passes the whole step's count so that k micro-batches sum to the big batch's loss;
 * streams.ts applies it per output stream, each with its own step count.
 * Uses a one-hot product instead of gather, so its gradient needs no UnsortedSegmentSum (absent
 * on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
// TF.js's gradient functions (tfjs-core alone registers none); see kernels/gradients.ts.
import '../kernels/gradients.js';

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
  const denom = denominator ?? (mask ? sumOf(mask) : B * T);
  if (!(denom > 0))
    throw new ShapeError('the loss mask selects no position (sum(mask) = 0); every batch needs at least one target with mask 1');
  return tf.tidy(() => {
    const x = tf.reshape(logits, [B * T, V]) as tf.Tensor2D; // [N, V]
    const onehot = tf.oneHot(tf.reshape(targets, [B * T]), V); // [N, V]
    const w = mask ? tf.reshape(tf.cast(mask, 'float32'), [B * T]) : tf.ones([B * T]); // [N]
    return fusedCrossEntropy(onehot, w, denom)(x);
  });
}

function sumOf(t: tf.Tensor): number {
  return tf.tidy(() => tf.sum(t).dataSync()[0]!);
}

/**
 * sum_n w[n] * (logsumexp(x[n]) - x[n, target[n]]) / denom, with the gradient written out:
 *   dL/dx = (softmax(x) - onehot) * (w * dy / denom)[:, None]
 * which takes fewer [N, V] passes than differentiating logSoftmax and the one-hot product.
 */
function fusedCrossEntropy(onehot: tf.Tensor, w: tf.Tensor, denom: number): (x: tf.Tensor2D) => tf.Scalar {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    save([x, onehot, w]); // kept by the engine until the backward pass (the caller's tidy disposes the originals)
    const nll = tf.sub(tf.logSumExp(x, 1), tf.sum(tf.mul(x, onehot), 1)); // [N]
    const value = tf.div(tf.sum(tf.mul(nll, w)), tf.scalar(denom)) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sOnehot, sw] = saved as [tf.Tensor2D, tf.Tensor, tf.Tensor];
        const scale = tf.reshape(tf.mul(sw, tf.div(dy, tf.scalar(denom))), [-1, 1]); // [N, 1]
        return [tf.mul(tf.sub(tf.softmax(sx), sOnehot), scale)];
      },
    };
  }) as unknown as (x: tf.Tensor2D) => tf.Scalar;
}
