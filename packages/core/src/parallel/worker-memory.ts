/**
 * Copies between float32 tensors and shared memory (SharedArrayBuffer views) that allocate no
 * fresh JS memory per step.
 *
 * Why: `dataSync()` returns a fresh array on every call, and on this machine (a VM) touching
 * fresh pages costs ~47 ms per 13 MB (the reference preset's 3,279,104 weights) against ~1 ms
 * for copying into memory already touched (Float32Array.prototype.set of 3,279,104 floats into
 * a new vs a reused array, Node 20). Per step the data-parallel loop moves the weights and the
 * gradients several times, so the copies must reuse memory:
 *  - reading a tensor: a view of the wasm heap (wasm) or the backend's own array (cpu);
 *  - writing a variable: `assign` of a new tensor made from the shared memory (below). Never in
 *    place: tfjs-backend-wasm's XNNPACK matMul caches an operator with the *packed* right-hand
 *    operand per tensor id, so a variable overwritten in place keeps multiplying by its old
 *    values (data-parallel.test.ts's Trainer curve is off by 1e-2 at step 2 with ZIPPER_NATIVE=0
 *    when written in place); a new tensor has a new id;
 *  - making a tensor from shared memory: the wasm backend copies the values into its heap at
 *    once (malloc reuses freed blocks); the cpu backend would keep a reference, so it gets a copy.
 * Anything else (another backend, a tensor not yet on the heap) falls back to dataSync.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmLike {
  dataIdMap: { get(id: object): { memoryOffset: number | null } | undefined };
  wasm: { HEAPF32: Float32Array };
}
interface CpuLike {
  data: { get(id: object): { values?: unknown } | undefined };
}

/** The tensor's float32 values where the backend keeps them, without copying; undefined if not reachable. */
function backendView(t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const name = tf.getBackend();
  const b = tf.backend() as unknown;
  if (name === 'wasm') {
    const w = b as WasmLike;
    const d = w.dataIdMap?.get(t.dataId);
    if (!d || d.memoryOffset === null || !w.wasm?.HEAPF32) return undefined;
    return w.wasm.HEAPF32.subarray(d.memoryOffset / 4, d.memoryOffset / 4 + t.size);
  }
  if (name === 'cpu') {
    const d = (b as CpuLike).data?.get(t.dataId);
    if (!d || !(d.values instanceof Float32Array) || d.values.length !== t.size) return undefined;
    return d.values;
  }
  return undefined;
}

/** Copies `t`'s values into `dst` at element `offset`. */
export function readInto(t: tf.Tensor, dst: Float32Array, offset: number): void {
  const v = backendView(t);
  dst.set(v ?? (t.dataSync() as Float32Array), offset);
}

/** Sets `variable` to a copy of `src` (variable.size elements), as a new tensor (see the header). */
export function writeVariable(variable: tf.Variable, src: Float32Array): void {
  tf.tidy(() => variable.assign(tensorFrom(src, variable.shape)));
}

/** A new float32 tensor holding a copy of `src` (never aliasing it). */
export function tensorFrom(src: Float32Array, shape: readonly number[]): tf.Tensor {
  // wasm copies into its heap inside tf.tensor; other backends may keep the array itself.
  return tf.tensor(tf.getBackend() === 'wasm' ? src : src.slice(), [...shape], 'float32');
}
