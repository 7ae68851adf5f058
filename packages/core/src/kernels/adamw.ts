/**
 * `ZipperAdamW`: one AdamW update of one parameter as one wasm-backend kernel, run by the native
 * addon (native/adamw.c) in place on views of the wasm heap. As TF.js ops (train/adamw.ts) it is
 * about twelve element-wise kernels per parameter, each a full pass over memory: for the
 * 14.7M-parameter zipped pair of `zipper bench fuse` ~150-190 ms of a ~0.9 s training step. Here
 * each element is read once and its three results written once. Without the native addon
 * (other platforms, `ZIPPER_NATIVE=0`, the browser) AdamW keeps the ops: a JS loop was slower
 * than them (~30 ns an element with float32 rounding).
 *
 * Inputs p, g, m, v (same shape, float32). Attributes, each the float32 scalar the ops use:
 * b1c = 1 - beta1, b2 = beta2, b2c = 1 - beta2, sqrtBc2 = sqrt(1 - beta2^t), eps,
 * negStep = -lr_s / (1 - beta1^t), keep = 1 - lr_s * weightDecay (null: no decay), gscale (the
 * gradient clipping's coefficient; 1: none). Outputs
 *   g  = g * gscale      (only when gscale is not 1)
 *   m1 = m + (g - m) * b1c
 *   v1 = v * b2 + g * g * b2c
 *   p1 = p * keep + m1 / (sqrt(v1) / sqrtBc2 + eps) * negStep
 * Every operation is one float32 operation in the ops' order, none fused, so the outputs equal
 * the ops' bit for bit (packages/core/test/train-optim.test.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeAddon } from './native-source.js';

export const ADAMW_KERNEL = 'ZipperAdamW';

/** The update's scalars, as float32 values (see the header). */
export interface AdamWScalars {
  readonly b1c: number;
  readonly b2: number;
  readonly b2c: number;
  readonly sqrtBc2: number;
  readonly eps: number;
  readonly negStep: number;
  /** null: the parameter gets no weight decay. */
  readonly keep: number | null;
  /** The gradient's scale (global-norm clipping), applied first; 1 = none. */
  readonly gscale: number;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function adamwWasm(args: KernelArgs): tf.TensorInfo[] {
  const native = nativeAddon();
  if (!native) throw new Error(`${ADAMW_KERNEL} needs the native addon; check canFuseAdamW() first`);
  const backend = args.backend as BackendWasm;
  const { p, g, m, v } = args.inputs as { p: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
  const s = args.attrs as unknown as AdamWScalars;
  const p1 = backend.makeOutput(p.shape, 'float32');
  const m1 = backend.makeOutput(p.shape, 'float32');
  const v1 = backend.makeOutput(p.shape, 'float32');
  // Views only after every makeOutput: growing the heap detaches older views.
  const view = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  if (tf.util.sizeFromShape(p.shape) > 0)
    native.adamw(
      view(p),
      view(g),
      view(m),
      view(v),
      view(p1),
      view(m1),
      view(v1),
      Float32Array.of(s.b1c, s.b2, s.b2c, s.sqrtBc2, s.eps, s.negStep, s.keep ?? NaN, s.gscale),
    );
  return [p1, m1, v1];
}

/** Whether `fusedAdamW` can run: the wasm backend, this kernel registered and the native addon in use. */
export function canFuseAdamW(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(ADAMW_KERNEL, 'wasm') !== undefined && nativeAddon() !== undefined;
}

/** [p1, m1, v1] of one update (see the header); the caller checks shapes and dtypes. */
export function fusedAdamW(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(ADAMW_KERNEL, { p, g, m, v }, s as unknown as tf.NamedAttrMap) as unknown as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}
