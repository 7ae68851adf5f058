/**
 * Moving the head axis of attention tensors: [B, T, G, K] <-> [B, G, T, K], and splitting or
 * merging a [B, T, G*K] width into heads. With one position (T = 1, every decode step) both
 * orders hold the same memory, so the move is a reshape instead of a Transpose kernel.
 *
 * Legend: B batch, T positions, G heads (or groups of them), K head width.
 */
import * as tf from '@tensorflow/tfjs-core';

/** [B, T, G, K] -> [B, G, T, K]. */
export function headsFirst(x: tf.Tensor4D): tf.Tensor4D {
  const [b, t, g, k] = x.shape;
  return (t === 1 ? tf.reshape(x, [b, g, 1, k]) : tf.transpose(x, [0, 2, 1, 3])) as tf.Tensor4D;
}

/** [B, G, T, K] -> [B, T, G, K]. */
export function headsLast(x: tf.Tensor4D): tf.Tensor4D {
  const [b, g, t, k] = x.shape;
  return (t === 1 ? tf.reshape(x, [b, 1, g, k]) : tf.transpose(x, [0, 2, 1, 3])) as tf.Tensor4D;
}

/** [B, T, H*K] -> [B, H, T, K]. */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [b, t, d] = x.shape;
  return headsFirst(tf.reshape(x, [b, t, heads, d / heads]) as tf.Tensor4D);
}

/** [B, H, T, K] -> [B, T, H*K]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, t, k] = x.shape;
  return tf.reshape(headsLast(x), [b, t, h * k]) as tf.Tensor3D;
}
