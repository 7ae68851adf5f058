/**
 * The block's MLP: down(gelu_tanh(x @ up)) with no biases. x (..., D) -> (..., D); up [D, F],
 * down [F, D]. Frozen weights (ops/tape.ts) get no gradient work (through `linear`).
 *
 * Legend: D width, F hidden width (4D in the tower).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../kernels/gradients.js';
import { GELU_KERNEL, useSmallKernel } from '../kernels/small-elementwise.js';
import { linear } from '../ops/linear.js';
import { recordingGradients } from '../ops/tape.js';

const C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(c (x + 0.044715 x^3))), c = sqrt(2/pi), computed
 * as x * sigmoid(z), z = a x + b x^3, a = 2c, b = 2c * 0.044715 (the same function:
 * 0.5 (1 + tanh u) = sigmoid(2u)), 6 kernels instead of 9.
 * While recording gradients it is one custom-gradient op with the derivative written out,
 *   dy/dx = s + x s (1 - s) (a + 3 b x^2),   s = sigmoid(z),
 * instead of the tape of six elementwise ops (whose Multiply gradients also cast every operand).
 */
export function geluTanh<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  const a = 2 * C;
  const b = 2 * C * 0.044715;
  const sig = (v: tf.Tensor): tf.Tensor => tf.sigmoid(tf.mul(v, tf.add(tf.mul(tf.square(v), b), a)));
  if (!recordingGradients()) {
    // A decode row: one kernel instead of six (kernels/small-elementwise.ts).
    if (useSmallKernel(GELU_KERNEL, x)) return tf.engine().runKernel(GELU_KERNEL, { x }, { a, b }) as tf.Tensor<R>;
    return tf.tidy(() => tf.mul(x, sig(x)) as tf.Tensor<R>);
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const s = sig(xi);
    save([xi, s]);
    return {
      value: tf.mul(xi, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, ss] = saved as [tf.Tensor, tf.Tensor];
        const slope = tf.add(tf.mul(tf.square(sx), 3 * b), a); // a + 3 b x^2
        const ds = tf.mul(tf.mul(sx, tf.sub(ss, tf.square(ss))), slope); // x s (1 - s) z'
        return [tf.mul(dy, tf.add(ss, ds))];
      },
    };
  });
  return f(x) as tf.Tensor<R>;
}

export function mlp<R extends tf.Rank>(x: tf.Tensor<R>, up: tf.Tensor2D, down: tf.Tensor2D): tf.Tensor<R> {
  return tf.tidy(() => linear(geluTanh(linear(x, up)), down));
}
