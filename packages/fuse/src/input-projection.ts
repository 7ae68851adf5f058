/**
 * The per-tower input projection right after the embedding (docs/zipper.md, forward pass 1;
 * the paper: h0 = ReLU(MLP(embed(x)))):
 *   'gated'   h0 = e + tanh(gate) * ReLU(MLP(e)), gate 0 at init: exactly e, the lone tower's input
 *   'replace' h0 = ReLU(MLP(e))
 *   'none'    h0 = e
 *
 * Legend: B batch, T positions, D the tower's width.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { InputProjectionMode } from './config.js';
import { reluMlp, type AffineLayer } from './projection.js';

export interface InputProjectionWeights {
  readonly layers: readonly AffineLayer[];
  /** [1]; 'gated' only. */
  readonly gate?: tf.Tensor1D;
}

/** e [B, T, D] -> h0 [B, T, D]. */
export function inputProjection(mode: InputProjectionMode, w: InputProjectionWeights, e: tf.Tensor3D): tf.Tensor3D {
  if (mode === 'none') return e;
  return tf.tidy(() => {
    const m = reluMlp(e, w.layers);
    if (mode === 'replace') return m;
    return tf.add(e, tf.mul(tf.tanh(w.gate as tf.Tensor1D), m)) as tf.Tensor3D;
  });
}
