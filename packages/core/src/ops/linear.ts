/**
 * `linear(x, w, bias?)`: y = x @ w (+ bias) for x (..., in), w [in, out], bias [out].
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
 *   dbias = ones[1, N] @ dy   (a product: TF.js's own bias gradient, a Sum over the leading
 *                              axes, made the wasm Sum kernel transpose dy first: 13 vs 0.18 ms
 *                              for dy [8, 128, 1024]; one-off script, medians of 21, loaded machine)
 * A frozen weight or bias (ops/tape.ts `isFrozen`: a variable outside the set being
 * differentiated) is captured as a constant and its gradient is not computed.
 *
 * Legend: N rows (all leading axes of x), in / out widths.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import { isFrozen, recordingGradients } from './tape.js';

export function linear<R extends tf.Rank>(x: tf.Tensor<R>, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor<R> {
  if (w.rank !== 2) throw new ShapeError(`linear: weight must be [in, out], got shape [${w.shape}]`);
  const [inDim, outDim] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inDim) {
    throw new ShapeError(`linear: x's last axis must equal the weight's input width ${inDim}, got x shape [${x.shape}]`);
  }
  if (bias !== undefined && (bias.rank !== 1 || bias.shape[0] !== outDim)) {
    throw new ShapeError(`linear: bias must be [out=${outDim}] like the weight's output width, got shape [${bias.shape}]`);
  }
  const lead = x.shape.slice(0, -1);
  const addBias = (y: tf.Tensor): tf.Tensor => (bias === undefined ? y : tf.add(y, bias));
  if (!recordingGradients()) {
    // One kernel when every axis before the rows is 1 (decode: x [1, 1, in], or [1, 1, G, K]):
    // TF.js's matMul takes rank-N x rank-2 directly and on wasm that still reaches XNNPACK.
    if (bias === undefined && x.shape.slice(0, -2).every((n) => n === 1))
      return tf.matMul(x as tf.Tensor as tf.Tensor3D, w) as tf.Tensor as tf.Tensor<R>;
    return tf.tidy(
      () =>
        tf.reshape(addBias(tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w)), [
          ...lead,
          outDim,
        ] as number[]) as tf.Tensor as tf.Tensor<R>,
    );
  }
  // Differentiate x always; w and bias unless frozen (then they are constants, no gradient work).
  const trainW = !isFrozen(w);
  const trainB = bias !== undefined && !isFrozen(bias);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xs = args[0] as tf.Tensor;
    const ws = trainW ? (args[1] as tf.Tensor2D) : w;
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const x2 = tf.reshape(xs, [-1, inDim]) as tf.Tensor2D; // [N, in]
    save(trainW ? [x2, ws] : [ws]);
    const y = tf.reshape(addBias(tf.matMul(x2, ws)), [...lead, outDim]); // (..., out)
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sw = saved[trainW ? 1 : 0] as tf.Tensor2D;
        const dy2 = tf.reshape(dy, [-1, outDim]) as tf.Tensor2D; // [N, out]
        const grads = [tf.reshape(tf.matMul(dy2, sw, false, true), [...lead, inDim])]; // dx (..., in)
        if (trainW) grads.push(tf.matMul(saved[0] as tf.Tensor2D, dy2, true, false)); // dw [in, out]
        if (trainB) grads.push(tf.reshape(tf.matMul(tf.ones([1, dy2.shape[0]]), dy2), [outDim])); // dbias [out]
        return grads;
      },
    };
  });
  const inputs: tf.Tensor[] = [x];
  if (trainW) inputs.push(w);
  if (trainB) inputs.push(bias);
  return f(...inputs) as tf.Tensor<R>;
}
