/**
 * Kernels the wasm backend lacks, registered once before the backend is used (importing this
 * module also registers TF.js's gradients, see gradients.ts).
 *
 * - `UnsortedSegmentSum` (tf.gather's gradient, tf.unsortedSegmentSum): JS kernel on the wasm
 *   heap, see unsorted-segment-sum.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc });
  }
}
