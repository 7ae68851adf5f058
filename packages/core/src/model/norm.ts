/** RMSNorm: x * rsqrt(mean(x^2, last axis) + eps) * scale, as in the PyTorch reference. */
import * as tf from '@tensorflow/tfjs-core';

export function rmsNorm<R extends tf.Rank>(x: tf.Tensor<R>, scale: tf.Tensor1D, eps: number): tf.Tensor<R> {
  return tf.tidy(() => {
    const ms = tf.mean(tf.square(x), -1, true); // (..., 1)
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), scale) as tf.Tensor<R>;
  });
}
