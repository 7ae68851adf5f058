/**
 * `ZipperRmsNorm`: the RMSNorm forward as one wasm-backend kernel, a JS loop over views of the
 * wasm heap. As TF.js ops it is six kernels (square, mean, add, rsqrt, two multiplies), and in a
 * decode step each of the ~200 kernels costs a fixed dispatch overhead that dwarfs the
 * arithmetic on a [1, 1, D] row; model/norm.ts uses this kernel on wasm for small inputs (its
 * JS loop is slower than the wasm ops on large ones), the ops elsewhere.
 *
 * Inputs x (..., D) and scale [D], float32; attribute eps. Outputs
 *   y = x * r * scale          (..., D)
 *   r = 1 / sqrt(mean(x^2) + eps)   (..., 1)   (kept for the backward pass)
 * The sum of squares accumulates in float64 (TF.js's Mean accumulates in float32), then every
 * stored value is rounded to float32 as the ops would: results agree with the ops to float32
 * rounding (packages/core/test/kernels.test.ts).
 *
 * Legend: N rows (all axes but the last), D width.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const RMS_NORM_KERNEL = 'ZipperRmsNorm';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function rows(X: Float32Array, G: Float32Array, Y: Float32Array, R: Float32Array, n: number, d: number, eps: number): void {
  const f = Math.fround;
  for (let i = 0, o = 0; i < n; i++, o += d) {
    let ss = 0;
    for (let j = 0; j < d; j++) {
      const v = X[o + j] as number;
      ss += v * v;
    }
    const r = f(1 / Math.sqrt(f(f(ss / d) + eps)));
    R[i] = r;
    for (let j = 0; j < d; j++) Y[o + j] = f(f((X[o + j] as number) * r) * (G[j] as number));
  }
}

export function rmsNormWasm(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, scale } = args.inputs as { x: tf.TensorInfo; scale: tf.TensorInfo };
  const { eps } = args.attrs as { eps: number };
  const d = scale.shape[0]!;
  const y = backend.makeOutput(x.shape, 'float32');
  const r = backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32');
  // Views only after every makeOutput: growing the heap detaches older views.
  const n = tf.util.sizeFromShape(x.shape) / d;
  if (n > 0) {
    const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
    rows(view(x), view(scale), view(y), view(r), n, d, eps);
  }
  return [y, r];
}

/** [y, r] of the fused forward (see the header); the caller checks shapes and dtypes. */
export function fusedRmsNorm(x: tf.Tensor, scale: tf.Tensor, eps: number): [tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(RMS_NORM_KERNEL, { x, scale }, { eps }) as unknown as [tf.Tensor, tf.Tensor];
}
