/**
 * Kernels the wasm backend lacks, registered once before the backend is used (importing this
 * module also registers TF.js's gradients, see gradients.ts).
 *
 * - `UnsortedSegmentSum` (tf.gather's gradient, tf.unsortedSegmentSum): JS kernel on the wasm
 *   heap, see unsorted-segment-sum.ts.
 * - `BatchMatMul`: wraps the backend's kernel; batched and transposed products (slow generic
 *   loop in tfjs-backend-wasm) go to our SIMD kernel or to XNNPACK after explicit transposes,
 *   see batch-matmul.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { makeBatchMatMulWasm } from './batch-matmul.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc });
  }
  const bmm = tf.getKernel('BatchMatMul', 'wasm');
  if (bmm !== undefined) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel({ ...bmm, kernelFunc: makeBatchMatMulWasm(bmm.kernelFunc) });
  }
}
