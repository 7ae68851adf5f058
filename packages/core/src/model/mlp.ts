/** The block's MLP: down(gelu_tanh(x @ up)) with no biases. x (..., D) -> (..., D). */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '../ops/linear.js';

const C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(c (x + 0.044715 x^3))), c = sqrt(2/pi), computed
 * as x * sigmoid(2c x (1 + 0.044715 x^2)) (the same function: 0.5 (1 + tanh z) = sigmoid(2z)),
 * 6 kernels instead of 9.
 */
export function geluTanh<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  return tf.tidy(() => {
    const z = tf.mul(x, tf.add(tf.mul(tf.square(x), 2 * C * 0.044715), 2 * C));
    return tf.mul(x, tf.sigmoid(z)) as tf.Tensor<R>;
  });
}

export function mlp(x: tf.Tensor3D, up: tf.Tensor2D, down: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => linear(geluTanh(linear(x, up)), down));
}
