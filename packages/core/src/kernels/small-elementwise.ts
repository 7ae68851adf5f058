/**
 * Two decode-time element-wise ops as single wasm-backend kernels, JS loops over views of the
 * wasm heap: in a decode step each TF.js kernel costs a fixed dispatch overhead that dwarfs the
 * arithmetic on one row, so a chain of small kernels is slower than one loop. The model uses
 * them on wasm for small inputs outside gradient recording (model/mlp.ts, model/rope.ts); large
 * inputs keep the wasm ops, which are faster per element.
 *
 * - `ZipperGelu`: y = x * sigmoid(a x + b x^3) (attributes a, b), every operation rounded to
 *   float32 in the ops' order.
 * - `ZipperRope`: x [B, T, G, K] -> rotated, interleaved pairs: for pair (x0, x1) at time t and
 *   pair index i, y0 = x0 c - x1 s, y1 = x1 c + x0 s with c = cos[t, i], s = sin[t, i] (the
 *   tables of model/rope.ts `ropeTables`, passed as attributes), rounded as the ops round them
 *   (x * cos' + swap(x) * sin'; swap is exact), so results are bit-identical to the ops.
 *
 * Legend: B batch, T time, G heads (q and k), K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const GELU_KERNEL = 'ZipperGelu';
export const ROPE_KERNEL = 'ZipperRope';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Inputs up to this many elements take these kernels and ZipperRmsNorm (tools/bench/small-kernels.ts). */
export const SMALL_ELEMENTS = 16384;

function geluLoop(X: Float32Array, Y: Float32Array, a: number, b: number): void {
  const f = Math.fround;
  for (let i = 0; i < X.length; i++) {
    const x = X[i] as number;
    const z = f(x * f(f(f(x * x) * b) + a));
    Y[i] = f(x * f(1 / (1 + Math.exp(-z))));
  }
}

export function geluWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { a, b } = args.attrs as { a: number; b: number };
  const out = backend.makeOutput(x.shape, 'float32');
  if (tf.util.sizeFromShape(x.shape) > 0)
    geluLoop(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, a, b);
  return out;
}

function ropeLoop(
  X: Float32Array,
  Y: Float32Array,
  cos: ArrayLike<number>,
  sin: ArrayLike<number>,
  bt: number,
  t: number,
  g: number,
  k: number,
): void {
  const f = Math.fround;
  const half = k / 2;
  for (let r = 0, o = 0; r < bt; r++) {
    const row = (r % t) * half; // time index within the batch row
    for (let h = 0; h < g; h++) {
      for (let i = 0; i < half; i++, o += 2) {
        const c = cos[row + i] as number;
        const s = sin[row + i] as number;
        const x0 = X[o] as number;
        const x1 = X[o + 1] as number;
        Y[o] = f(f(x0 * c) + f(-x1 * s));
        Y[o + 1] = f(f(x1 * c) + f(x0 * s));
      }
    }
  }
}

export function ropeWasm(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { cos, sin } = args.attrs as { cos: number[]; sin: number[] };
  const [b, t, g, k] = x.shape as [number, number, number, number];
  const out = backend.makeOutput(x.shape, 'float32');
  if (b * t * g * k > 0)
    ropeLoop(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, cos, sin, b * t, t, g, k);
  return out;
}

/** Whether `x` should take one of the decode-size kernels (these and ZipperRmsNorm): wasm, float32, small, registered. */
export function useSmallKernel(name: string, x: tf.Tensor): boolean {
  return x.size <= SMALL_ELEMENTS && x.dtype === 'float32' && tf.getBackend() === 'wasm' && tf.getKernel(name, 'wasm') !== undefined;
}
