/**
 * `Transpose` for the wasm backend. TF.js's wasm Transpose measured ~30 ms of CPU for a
 * [1024, 1024] float32 matrix on this machine (a training step transposes ~10M elements: every
 * linear gradient needs x^T and w^T), so two common cases run here instead, on views of the
 * wasm heap:
 * - the last two axes swap (2-D transpose, batched over leading axes): cache-blocked 8x8 tiles,
 *   ~3 ms for [1024, 1024];
 * - the last axis stays last (heads <-> time, [B, T, H, K] -> [B, H, T, K]): contiguous runs
 *   of the last axis are copied whole.
 * Other permutations use the backend's kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyRun, heapIndex, wholeHeap } from './heap-runs.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type Values = Float32Array | Int32Array | Uint8Array;

const TILE = 8;

/** dst [cols, rows] = src [rows, cols]^T, in 8x8 tiles. */
function transpose2d(src: Values, so: number, dst: Values, d0: number, rows: number, cols: number): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const s = so + i * cols;
        for (let j = j0; j < j1; j++) dst[d0 + j * rows + i] = src[s + j]!;
      }
    }
  }
}

/** Permutation that keeps the last axis: copy runs of the last axis (heap-runs.ts). */
function permuteRuns(src: Values, dst: Values, shape: readonly number[], perm: readonly number[]): void {
  const r = shape.length;
  const strides = tf.util.computeStrides(shape as number[]).concat(1);
  const outShape = perm.map((p) => shape[p]!);
  const run = outShape[r - 1]!;
  const pstr = perm.slice(0, r - 1).map((p) => strides[p]!);
  const idx = new Array<number>(r - 1).fill(0);
  const total = dst.length;
  const heap = wholeHeap(src);
  const s0 = heapIndex(src);
  const d0 = heapIndex(dst);
  for (let o = 0; o < total; o += run) {
    let off = s0;
    for (let i = 0; i < r - 1; i++) off += idx[i]! * pstr[i]!;
    copyRun(heap, off, d0 + o, run);
    for (let i = r - 2; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
}

export function makeTransposeWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as { perm: number[] };
    const r = x.shape.length;
    if (x.dtype === 'string' || r < 2 || perm.length !== r) return original(args as never);
    const lead = perm.slice(0, r - 2).every((p, i) => p === i);
    const swapLast = lead && perm[r - 2] === r - 1 && perm[r - 1] === r - 2;
    const keepLast = perm[r - 1] === r - 1;
    if (!swapLast && !keepLast) return original(args as never);
    const out = backend.makeOutput(
      perm.map((p) => x.shape[p]!),
      x.dtype,
    );
    const dst = backend.typedArrayFromHeap(out);
    const src = backend.typedArrayFromHeap(x);
    if (dst.length === 0) return out;
    if (swapLast) {
      const rows = x.shape[r - 2]!;
      const cols = x.shape[r - 1]!;
      const m = rows * cols;
      for (let b = 0; b < src.length; b += m) transpose2d(src, b, dst, b, rows, cols);
    } else {
      permuteRuns(src, dst, x.shape, perm);
    }
    return out;
  }) as tf.KernelFunc;
}
