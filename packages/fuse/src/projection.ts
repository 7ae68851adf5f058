/**
 * A stack of affine layers, each followed by ReLU: `x -> ReLU(x W_0 + b_0) -> ... -> ReLU(. W_n-1 + b_n-1)`.
 * The source projection of a link (`cross.<X>_from_<Y>.<l>.proj`: D_Y -> D_X, then D_X -> D_X;
 * the paper's g with 3 layers) and the MLP of the input projection (`inproj.<X>`) are both this.
 *
 * Legend: B batch, T positions, D_in / D_out widths.
 */
import * as tf from '@tensorflow/tfjs-core';
import { linear } from '@zipper/core/ops';

export interface AffineLayer {
  /** [D_in, D_out] */
  readonly weight: tf.Tensor2D;
  /** [D_out] */
  readonly bias: tf.Tensor1D;
}

/** x [B, T, D_in] -> [B, T, D_out], ReLU after every layer. */
export function reluMlp(x: tf.Tensor3D, layers: readonly AffineLayer[]): tf.Tensor3D {
  return tf.tidy(() => {
    let h = x;
    for (const l of layers) h = tf.relu(linear(h, l.weight, l.bias)) as tf.Tensor3D;
    return h;
  });
}

/** The `layers.<i>.weight` / `.bias` of a module prefix, from a parameter lookup. */
export function affineLayers(param: (key: string) => tf.Tensor, prefix: string, count: number): AffineLayer[] {
  return Array.from({ length: count }, (_, i) => ({
    weight: param(`${prefix}.layers.${i}.weight`) as tf.Tensor2D,
    bias: param(`${prefix}.layers.${i}.bias`) as tf.Tensor1D,
  }));
}
