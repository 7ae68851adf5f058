/**
 * `UnsortedSegmentSum` for the wasm backend, which ships without it (it is `tf.gather`'s
 * gradient, so without this kernel `tf.grad` through `tf.gather` throws on wasm).
 *
 * A JS kernel working directly on the wasm heap: it reads `x` and `segmentIds` through views of
 * the backend's memory, allocates the output with `backend.makeOutput` and accumulates into a
 * view of it. Semantics follow TensorFlow: `out[s, ...] = sum of x[i, ...] over i with
 * segmentIds[i] == s`; ids outside `[0, numSegments)` are dropped. `segmentIds` may have any
 * rank r <= rank(x); it indexes the first r axes of x.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function unsortedSegmentSumWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  if (x.dtype !== 'float32' && x.dtype !== 'int32')
    throw new Error(`UnsortedSegmentSum (wasm): dtype ${x.dtype} is not supported; cast x to float32`);
  const idRank = segmentIds.shape.length;
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const inner = tf.util.sizeFromShape(x.shape.slice(idRank));
  const outShape = [numSegments, ...x.shape.slice(idRank)];
  const out = backend.makeOutput(outShape, x.dtype);
  // Views are taken after makeOutput: an allocation may grow (and replace) the heap buffer.
  const dst = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const src = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  dst.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const r = i * inner;
    for (let j = 0; j < inner; j++) dst[o + j]! += src[r + j]!;
  }
  return out;
}
