/**
 * `Slice` for the wasm backend. TF.js's wasm Slice is a JS kernel that first copies the WHOLE
 * input out of the heap (`readSync`) and then gathers element by element (rank 5+: through a
 * generic index loop). Training profiles showed it at ~13% of a step (`tools/bench/profile.ts`).
 * This one reads the input in place and copies contiguous runs: every trailing axis that is
 * taken whole joins the run, so slicing q/k/v out of a fused [B, T, 3D] projection is B*T
 * copies of D floats.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { copyRun, heapIndex, wholeHeap } from './heap-runs.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function makeSliceWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return original(args as never);
    const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    const shape = x.shape;
    const rank = shape.length;
    const out = backend.makeOutput(s, x.dtype);
    const total = tf.util.sizeFromShape(s);
    if (total === 0) return out;
    const dst = backend.typedArrayFromHeap(out);
    const src = backend.typedArrayFromHeap(x);
    const strides = [...tf.util.computeStrides(shape), 1];
    // j: the last axis not taken whole; axes after it are contiguous in both tensors.
    let j = rank - 1;
    while (j > 0 && s[j] === shape[j]) j--;
    const run = s[j]! * strides[j]!;
    const base = b.reduce((acc, bi, i) => acc + bi * strides[i]!, 0);
    const idx = new Array<number>(j).fill(0);
    const heap = wholeHeap(src);
    const s0 = heapIndex(src) + base;
    const d0 = heapIndex(dst);
    for (let o = 0; o < total; o += run) {
      let off = s0;
      for (let i = 0; i < j; i++) off += idx[i]! * strides[i]!;
      copyRun(heap, off, d0 + o, run);
      for (let i = j - 1; i >= 0; i--) {
        if (++idx[i]! < s[i]!) break;
        idx[i] = 0;
      }
    }
    return out;
  }) as tf.KernelFunc;
}
