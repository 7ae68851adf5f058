/**
 * Kernels the wasm backend lacks, registered once before the backend is used (importing this
 * module also registers TF.js's gradients, see gradients.ts).
 *
 * - `UnsortedSegmentSum` (tf.gather's gradient, tf.unsortedSegmentSum): JS kernel on the wasm
 *   heap, see unsorted-segment-sum.ts.
 * - `BatchMatMul`: wraps the backend's kernel; batched and transposed products (slow generic
 *   loop in tfjs-backend-wasm) go to our SIMD kernel or to XNNPACK after explicit transposes,
 *   see batch-matmul.ts.
 * - `Identity` (tf.clone, custom-gradient saves): shares the data instead of copying it, see
 *   identity.ts.
 * - `Transpose`: blocked 2-D transposes and last-axis-run copies, see transpose.ts.
 * - `Slice`: in-place reads and contiguous-run copies instead of a full copy of the input,
 *   see slice.ts.
 * - `GatherV2` (embedding lookups): contiguous-run copies, see gather.ts.
 * - `ZipperRmsNorm`, `ZipperGelu`, `ZipperRope` (new): RMSNorm, GELU and rotary embeddings of
 *   small (decode) inputs as one kernel each, see rms-norm.ts and small-elementwise.ts.
 * - `ZipperAdamW` (new): one parameter's AdamW update as one kernel run by the native addon,
 *   see adamw.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { ADAMW_KERNEL, adamwWasm } from './adamw.js';
import { makeBatchMatMulWasm } from './batch-matmul.js';
import { makeGatherWasm } from './gather.js';
import { makeIdentityWasm } from './identity.js';
import { RMS_NORM_KERNEL, rmsNormWasm } from './rms-norm.js';
import { GELU_KERNEL, geluWasm, ROPE_KERNEL, ropeWasm } from './small-elementwise.js';
import { makeSliceWasm } from './slice.js';
import { makeTransposeWasm } from './transpose.js';
import { unsortedSegmentSumWasm } from './unsorted-segment-sum.js';

let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm as tf.KernelFunc });
  }
  wrap('BatchMatMul', makeBatchMatMulWasm);
  wrap('Slice', makeSliceWasm);
  wrap('Identity', makeIdentityWasm);
  wrap('Transpose', makeTransposeWasm);
  wrap('GatherV2', makeGatherWasm);
  for (const [kernelName, kernelFunc] of [
    [RMS_NORM_KERNEL, rmsNormWasm],
    [GELU_KERNEL, geluWasm],
    [ROPE_KERNEL, ropeWasm],
    [ADAMW_KERNEL, adamwWasm],
  ] as const) {
    if (tf.getKernel(kernelName, 'wasm') === undefined)
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

/** Replaces the wasm kernel `name` by `make(original)`, keeping its setup/dispose hooks. */
function wrap(name: string, make: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const config = tf.getKernel(name, 'wasm');
  if (config === undefined) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: make(config.kernelFunc) });
}
