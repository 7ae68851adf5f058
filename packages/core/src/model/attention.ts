/**
 * Causal multi-head self-attention with rotary q/k and an optional KV cache.
 *
 * Legend: B batch, T new positions, S all key positions (cached + new), D model width,
 * H heads, K head width (D / H).
 */
import * as tf from '@tensorflow/tfjs-core';
import { causalAttention } from '../ops/attention.js';
import { linear } from '../ops/linear.js';
import type { LayerKV } from './cache.js';
import { applyRope } from './rope.js';

export interface SelfAttentionWeights {
  /** [D, 3D], output columns ordered [3][H][K] (q, k, v). */
  readonly qkv: tf.Tensor2D;
  /** [D, D]. */
  readonly out: tf.Tensor2D;
}

/**
 * x [B, T, D] (already normed) at positions start .. start+T-1. With `cache` (the past S-T
 * positions) or `useCache`, also returns the keys/values of all S positions.
 */
export function selfAttention(
  w: SelfAttentionWeights,
  x: tf.Tensor3D,
  opts: { nHeads: number; ropeBase: number; start: number; cache?: LayerKV; useCache?: boolean },
): { y: tf.Tensor3D; cache?: LayerKV } {
  const [b, t, d] = x.shape;
  const h = opts.nHeads;
  const k = d / h;
  return tf.tidy(() => {
    const qkv = tf.reshape(linear(x, w.qkv), [b, t, 3, h, k]); // [B, T, 3, H, K]
    const [q0, k0, v0] = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]; // 3 x [B, H, T, K]
    const q = applyRope(q0, opts.start, opts.ropeBase);
    const kNew = applyRope(k0, opts.start, opts.ropeBase);
    const keys = opts.cache ? (tf.concat([opts.cache.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, H, S, K]
    const values = opts.cache ? (tf.concat([opts.cache.v, v0], 2) as tf.Tensor4D) : v0; // [B, H, S, K]
    const a = causalAttention(q, keys, values, { causalOffset: keys.shape[2] - t }); // [B, H, T, K]
    const merged = tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [b, t, d]); // [B, T, D]
    const y = linear(merged, w.out);
    const keep = opts.cache !== undefined || opts.useCache === true;
    return (keep ? { y, cache: { k: keys, v: values } } : { y }) as unknown as tf.TensorContainer;
  }) as unknown as { y: tf.Tensor3D; cache?: LayerKV };
}
