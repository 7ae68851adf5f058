/**
 * RMSNorm: x * rsqrt(mean(x^2, last axis) + eps) * scale, as in the PyTorch reference.
 * While recording gradients it is one custom-gradient op with the backward written out
 * (r = rsqrt(mean(x^2) + eps), u = dy * scale, D = last axis):
 *   dx     = r u - x r^3 mean(u x)
 *   dscale = sum over all leading axes of dy * x * r
 * instead of the tape of six ops (whose Multiply and Mean gradients cast operands and build
 * ones-tensors of the input's shape in JS). On wasm the forward of a small input (a decode
 * step) is one kernel (kernels/rms-norm.ts): fewer kernel dispatches per token.
 * A frozen scale (ops/tape.ts `isFrozen`) is a constant: only dx is computed.
 *
 * Legend: D width; x is (..., D).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../kernels/gradients.js';
import { ShapeError } from '../errors.js';
import { fusedRmsNorm, RMS_NORM_KERNEL } from '../kernels/rms-norm.js';
import { useSmallKernel } from '../kernels/small-elementwise.js';
import { isFrozen, recordingGradients } from '../ops/tape.js';

/**
 * [y, r] of the forward: one kernel on wasm for small inputs (decode), TF.js ops otherwise; the
 * JS loop loses on large inputs (`npx vite-node -c vitest.config.ts tools/bench/small-kernels.ts`:
 * [1, 1, 256] 0.018 vs 0.103 ms as six ops; [8, 128, 256] 1.46 vs 0.41 ms).
 */
function forward(x: tf.Tensor, scale: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] {
  if (scale.dtype === 'float32' && useSmallKernel(RMS_NORM_KERNEL, x)) return fusedRmsNorm(x, scale, eps);
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)); // (..., 1)
  return [tf.mul(tf.mul(x, r), scale), r];
}

export function rmsNorm<R extends tf.Rank>(x: tf.Tensor<R>, scale: tf.Tensor1D, eps: number): tf.Tensor<R> {
  const d = scale.shape[0];
  if (scale.rank !== 1 || x.shape[x.rank - 1] !== d)
    throw new ShapeError(`rmsNorm: x's last axis must equal scale's width ${d}, got x [${x.shape}], scale [${scale.shape}]`);
  if (!recordingGradients()) return tf.tidy(() => forward(x, scale, eps)[0] as tf.Tensor<R>);
  const frozen = isFrozen(scale);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xi, g, save] = (frozen ? [args[0], scale, args[1]] : args) as [tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
    const [y, r] = forward(xi, g, eps); // (..., D), (..., 1)
    save([xi, g, r]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sr] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor];
        const xr = tf.mul(sx, sr); // (..., D), the normalized input
        const u = tf.mul(dy, sg); // (..., D)
        const m = tf.mean(tf.mul(u, xr), -1, true); // (..., 1) = r mean(u x)
        const dx = tf.mul(tf.sub(u, tf.mul(xr, m)), sr); // r u - x r^3 mean(u x)
        if (frozen) return [dx];
        // The column sum as a [1, N] @ [N, D] product: a reduction over the leading axis makes
        // the wasm Sum kernel transpose its input first: 2.7 ms vs 0.04 ms at N = 1024, D = 256
        // (one-off script, medians of 21, with and without ZIPPER_NATIVE=0).
        const rows = tf.reshape(tf.mul(dy, xr), [-1, d]) as tf.Tensor2D; // [N, D]
        const dg = tf.reshape(tf.matMul(tf.ones([1, rows.shape[0]]), rows), [d]); // [D]
        return [dx, dg];
      },
    };
  });
  return (frozen ? f(x) : f(x, scale)) as tf.Tensor<R>;
}
