/** The block's MLP: down(gelu_tanh(x @ up)) with no biases. x (..., D) -> (..., D). */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '../ops/linear.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluTanh<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as tf.Tensor<R>;
  });
}

export function mlp(x: tf.Tensor3D, up: tf.Tensor2D, down: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => linear(geluTanh(linear(x, up)), down));
}
