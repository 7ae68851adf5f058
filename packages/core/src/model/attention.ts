/**
 * Multi-head self-attention with rotary q/k and an optional KV cache: causal (a decoder), or with
 * `mask` the keys each query sees (e.g. a bidirectional encoder over a segment: key padding and a
 * same-segment mask instead of the staircase).
 *
 * Legend: B batch, T new positions, S all key positions (cached + new), D model width,
 * H heads, K head width (D / H).
 */
import * as tf from '@tensorflow/tfjs-core';
import { attention, causalAttention } from '../ops/attention.js';
import type { AttentionMaskOptions } from '../ops/attention-mask.js';
import { headsFirst, mergeHeads } from '../ops/heads.js';
import { linear } from '../ops/linear.js';
import type { LayerKV } from './cache.js';
import { ropeBTGK } from './rope.js';

export interface SelfAttentionWeights {
  /** [D, 3D], output columns ordered [3][H][K] (q, k, v). */
  readonly qkv: tf.Tensor2D;
  /** [D, D]. */
  readonly out: tf.Tensor2D;
}

/**
 * x [B, T, D] (already normed) at positions start .. start+T-1. With `cache` (the past S-T
 * positions) or `useCache`, also returns the keys/values of all S positions. `mask` (attention's
 * masks over the S keys) replaces the causal staircase.
 */
export function selfAttention(
  w: SelfAttentionWeights,
  x: tf.Tensor3D,
  opts: { nHeads: number; ropeBase: number; start: number; cache?: LayerKV; useCache?: boolean; mask?: AttentionMaskOptions },
): { y: tf.Tensor3D; cache?: LayerKV } {
  const [b, t, d] = x.shape;
  const h = opts.nHeads;
  const k = d / h;
  return tf.tidy(() => {
    const qkv = linear(x, w.qkv); // [B, T, 3D], columns [3][H][K]
    const qk = ropeBTGK(tf.reshape(tf.slice(qkv, [0, 0, 0], [b, t, 2 * d]), [b, t, 2 * h, k]) as tf.Tensor4D, opts.start, opts.ropeBase); // [B, T, 2H, K]
    const q = headsFirst(tf.slice(qk, [0, 0, 0, 0], [b, t, h, k])); // [B, H, T, K]
    const kNew = headsFirst(tf.slice(qk, [0, 0, h, 0], [b, t, h, k])); // [B, H, T, K]
    const vNew = headsFirst(tf.reshape(tf.slice(qkv, [0, 0, 2 * d], [b, t, d]), [b, t, h, k]) as tf.Tensor4D); // [B, H, T, K]
    const keys = opts.cache ? (tf.concat([opts.cache.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, H, S, K]
    const values = opts.cache ? (tf.concat([opts.cache.v, vNew], 2) as tf.Tensor4D) : vNew; // [B, H, S, K]
    const a = opts.mask
      ? attention(q, keys, values, opts.mask) // [B, H, T, K]
      : causalAttention(q, keys, values, { causalOffset: keys.shape[2] - t }); // [B, H, T, K]
    const merged = mergeHeads(a); // [B, T, D]
    const y = linear(merged, w.out);
    const keep = opts.cache !== undefined || opts.useCache === true;
    return (keep ? { y, cache: { k: keys, v: values } } : { y }) as unknown as tf.TensorContainer;
  }) as unknown as { y: tf.Tensor3D; cache?: LayerKV };
}
