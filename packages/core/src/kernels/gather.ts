/**
 * `GatherV2` for the wasm backend: rows of x along `axis` at `indices`, copied as contiguous
 * runs (everything after `axis`, heap-runs.ts). TF.js's wasm GatherV2 took 7.9 ms for the
 * embedding lookup of a training step ([512, 256] table, 1,024 ids), this one 0.16 ms (a one-off
 * script timing tf.gather before and after registering it, medians of 31).
 * `batchDims` other than 0, and string tensors, go to the backend's kernel. Indices outside
 * [0, x.shape[axis]) throw a ShapeError naming the index (the tower validates ids before this).
 *
 * Legend: O outer (axes before `axis`), N indices, R run (axes after `axis`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { ShapeError } from '../errors.js';
import { copyRun, heapIndex, wholeHeap } from './heap-runs.js';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function makeGatherWasm(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number | number[]; batchDims: number };
    if (x.dtype === 'string' || (batchDims ?? 0) !== 0 || indices.dtype !== 'int32' || x.shape.length === 0) return original(args as never);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, ax)); // O
    const rows = x.shape[ax]!;
    const run = tf.util.sizeFromShape(x.shape.slice(ax + 1)); // R
    const n = tf.util.sizeFromShape(indices.shape); // N
    const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
    if (outer * n * run === 0) return out;
    // Views only after makeOutput: growing the heap detaches older views.
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const idx = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let j = 0; j < n; j++) {
      const r = idx[j]!;
      if (r < 0 || r >= rows) {
        backend.disposeData(out.dataId);
        throw new ShapeError(`gather: index ${r} at position ${j} is outside [0, ${rows}) on axis ${ax} of a [${x.shape}] tensor`);
      }
    }
    const heap = wholeHeap(src);
    let o = heapIndex(dst);
    for (let b = 0; b < outer; b++) {
      const base = heapIndex(src) + b * rows * run;
      for (let j = 0; j < n; j++, o += run) copyRun(heap, base + idx[j]! * run, o, run);
    }
    return out;
  }) as tf.KernelFunc;
}
