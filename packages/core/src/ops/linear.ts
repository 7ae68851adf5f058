/**
 * `linear(x, w)`: y = x @ w for x (..., in) and w [in, out], no bias.
 *
 * Why a custom gradient: on tfjs-backend-wasm only a plain 2-D matMul (no transpose flags)
 * reaches XNNPACK's fast GEMM; `transposeA/B` and rank-3 matMuls take a slow generic loop
 * (measured on this machine with TF.js's own kernels: x@w 13.6 GFLOP/s, x@w^T with the flag
 * 1.9, x^T@dy with the flag 1.4). TF.js's built-in matMul gradient uses the flags. (Our wasm
 * BatchMatMul wrapper, kernels/batch-matmul.ts, now also rewrites flagged 2-D products this
 * way, so plain tf.matMul users benefit too; this op stays explicit so it is fast on any
 * backend.) Benchmarks: `npx vite-node tools/bench/ops.ts`.
 * So the forward is one 2-D matMul on x viewed as [N, in], and the gradient is two 2-D matMuls
 * with transpose flags, which every backend we use handles well: on wasm our BatchMatMul kernel
 * takes them (natively, or by a cheap explicit transpose before XNNPACK), tfjs-node passes them
 * to TensorFlow's GEMM, and tfjs's own gradient is avoided (it adds generic bookkeeping):
 *   dx = dy @ w^T      [N, out] @ [out, in]
 *   dw = x^T @ dy      [in, N] @ [N, out]
 * A frozen weight (ops/tape.ts `isFrozen`: a variable outside the set being differentiated) is
 * captured as a constant and dw is not computed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import { isFrozen, recordingGradients } from './tape.js';

export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D): tf.Tensor<R> {
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be [in, out], got shape [${w.shape}]`);
  const [inDim, outDim] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inDim) {
    throw new ShapeError(`linear: x's last axis must equal the weight's input width ${inDim}, got x shape [${x.shape}]`);
  }
  const lead = x.shape.slice(0, -1);
  if (!recordingGradients()) {
    // One kernel when every axis before the rows is 1 (decode: x [1, 1, in], or [1, 1, G, K]):
    // TF.js's matMul takes rank-N x rank-2 directly and on wasm that still reaches XNNPACK.
    if (x.shape.slice(0, -2).every((n) => n === 1)) return tf.matMul(x as tf.Tensor as tf.Tensor3D, w) as tf.Tensor as tf.Tensor<R>;
    return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w), [...lead, outDim] as number[]) as tf.Tensor as tf.Tensor<R>);
  }
  if (isFrozen(w)) {
    const g = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xs] = args as [tf.Tensor];
      const y = tf.reshape(tf.matMul(tf.reshape(xs, [-1, inDim]) as tf.Tensor2D, w), [...lead, outDim]); // (..., out)
      return {
        value: y,
        gradFunc: (dy: tf.Tensor) => [tf.reshape(tf.matMul(tf.reshape(dy, [-1, outDim]) as tf.Tensor2D, w, false, true), [...lead, inDim])], // (..., in)
      };
    });
    return g(x) as tf.Tensor<R>;
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xs, ws, save] = args as [tf.Tensor, tf.Tensor2D, tf.GradSaveFunc];
    const x2 = tf.reshape(xs, [-1, inDim]) as tf.Tensor2D; // [N, in]
    save([x2, ws]);
    const y = tf.reshape(tf.matMul(x2, ws), [...lead, outDim]); // (..., out)
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dy2 = tf.reshape(dy, [-1, outDim]) as tf.Tensor2D; // [N, out]
        const dx = tf.reshape(tf.matMul(dy2, sw, false, true), [...lead, inDim]); // (..., in)
        const dw = tf.matMul(sx, dy2, true, false); // [in, out]
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor<R>;
}
