/**
 * The sum of squares of a float32 tensor's elements, read in place from the wasm backend's heap
 * by the native addon (native/sumsq.c) and accumulated in double precision: the global gradient
 * norm of the training loop's clipping (train/clip.ts) in one pass over memory per gradient,
 * where TF.js ops take a Square, a Sum and an Add kernel, each a pass, and round every partial
 * sum to float32. Deterministic: the same bits on every run and on either of the addon's ISAs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { nativeAddon } from './native-source.js';

/** Whether `nativeSumSquares` can run: the wasm backend with the native addon in use. */
export function canSumSquaresNatively(): boolean {
  return tf.getBackend() === 'wasm' && nativeAddon() !== undefined;
}

/** sum(t^2) in double precision; the caller checks `canSumSquaresNatively()` and that t is float32. */
export function nativeSumSquares(t: tf.Tensor): number {
  const native = nativeAddon();
  if (!native || tf.getBackend() !== 'wasm')
    throw new Error('nativeSumSquares needs the native addon on the wasm backend; check canSumSquaresNatively() first');
  if (t.size === 0) return 0;
  const view = (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  return native.sumSquares(view);
}
