/**
 * The gated cross-attention layer of one link (docs/zipper.md, forward pass 2; Flamingo's gating):
 *   s = ReLU(g(m_Y))                                    source projection, [B, S, D_X]
 *   x = x + v * tanh(gate_attn) * attn(norm_attn(x), s)
 *   x = x + v * tanh(gate_ff)   * ff(norm_ff(x))
 * attn: the reader's H heads, no biases, no rotary positions unless config.crossRope asks
 * (then q at reader position n is rotated as n * rate, k at source position m as m); q = n Wq, [k, v] = s Wkv (k
 * first; head h is columns hK..(h+1)K-1 of each), scores scaled by 1/sqrt(K), heads
 * concatenated before Wout. v [B, T, 1] is 1 where the reader position sees a source position,
 * so a position that sees none keeps exactly its input (no leak through either residual).
 *
 * Split in two for caching: `crossKeysValues` (per source position, computed once and appended
 * as the source grows) and `gatedCrossAttention` (per reader position).
 *
 * Legend: B batch, T reader positions, S source positions, D width of the reader (D_X) or of
 * the source (D_Y), H heads, K head width (D_X / H).
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyRope, applyRopeAt, attention, linear, mergeHeads, mlp, rmsNorm, splitHeads } from '@zipper/core/ops';
import type { LayerKV } from '@zipper/core';
import type { CrossMask } from './masks.js';
import { reluMlp, type AffineLayer } from './projection.js';

export interface CrossAttentionWeights {
  /** D_Y -> D_X, then D_X -> D_X. */
  readonly proj: readonly AffineLayer[];
  readonly normAttn: tf.Tensor1D;
  /** [D_X, D_X] */
  readonly q: tf.Tensor2D;
  /** [D_X, 2 D_X], columns [2][H][K] (k, v) */
  readonly kv: tf.Tensor2D;
  /** [D_X, D_X] */
  readonly out: tf.Tensor2D;
  /** [1] */
  readonly gateAttn: tf.Tensor1D;
  readonly normFf: tf.Tensor1D;
  /** [D_X, F] */
  readonly up: tf.Tensor2D;
  /** [F, D_X] */
  readonly down: tf.Tensor2D;
  /** [1] */
  readonly gateFf: tf.Tensor1D;
}

export interface CrossOptions {
  /** H of the reader. */
  readonly nHeads: number;
  /** The reader's RMSNorm eps. */
  readonly normEps: number;
  /**
   * Rotary cross positions (config.crossRope; absent: none): keys at source positions m rotated as
   * m, queries at reader positions n as n * rate, with the reader tower's rope base.
   */
  readonly rope?: { readonly base: number; readonly rate: number };
}

/**
 * The source side: m_Y [B, S, D_Y] at source positions start.. (or, with rotary cross positions,
 * at `positions` [B * S], each row's own: weighted source positions, cross-positions.ts) -> keys
 * and values [B, H, S, K] each.
 */
export function crossKeysValues(
  w: CrossAttentionWeights,
  source: tf.Tensor3D,
  o: CrossOptions,
  start = 0,
  positions?: Float32Array,
): LayerKV {
  return tf.tidy(() => {
    const s = reluMlp(source, w.proj); // [B, S, D_X]
    const [b, n, d] = s.shape;
    const kv = linear(s, w.kv); // [B, S, 2 D_X], columns [k | v]
    const k0 = splitHeads(tf.slice(kv, [0, 0, 0], [b, n, d]) as tf.Tensor3D, o.nHeads); // [B, H, S, K]
    const k = !o.rope ? k0 : positions ? applyRopeAt(k0, positions, o.rope.base) : applyRope(k0, start, o.rope.base);
    const v = splitHeads(tf.slice(kv, [0, 0, d], [b, n, d]) as tf.Tensor3D, o.nHeads); // [B, H, S, K]
    return { k, v } as unknown as tf.TensorContainer;
  }) as unknown as LayerKV;
}

/** The reader side: x [B, T, D_X] at reader positions start.. with the source's keys/values and the link's mask -> [B, T, D_X]. */
export function gatedCrossAttention(
  w: CrossAttentionWeights,
  x: tf.Tensor3D,
  kv: LayerKV,
  mask: CrossMask,
  o: CrossOptions,
  start = 0,
): tf.Tensor3D {
  return tf.tidy(() => crossBlock(w, x, kv, mask, o, start).y);
}

/**
 * `gatedCrossAttention` plus the alignment-prior penalty of its attention (masks.ts
 * `alignPriorHost`, `prior` [B, T, S]): the sum over heads and reader positions that see a source
 * position of sum_s p[b, h, t, s] * prior[b, t, s], p the attention probabilities. Differentiable
 * in q, k and the source projection; training only (decoding needs no probabilities).
 */
export function gatedCrossAttentionWithPrior(
  w: CrossAttentionWeights,
  x: tf.Tensor3D,
  kv: LayerKV,
  mask: CrossMask,
  o: CrossOptions,
  prior: tf.Tensor3D,
  start = 0,
): { y: tf.Tensor3D; penalty: tf.Scalar } {
  return tf.tidy(() => {
    const r = crossBlock(w, x, kv, mask, o, start);
    const [b, t, d] = x.shape;
    const s = kv.k.shape[2];
    const scores = tf.mul(tf.matMul(r.q, kv.k, false, true), 1 / Math.sqrt(d / o.nHeads)); // [B, H, T, S]
    if (mask.full) return { y: r.y, penalty: tf.sum(tf.mul(tf.softmax(scores), tf.reshape(prior, [b, 1, t, s]))) as tf.Scalar };
    const blocked = tf.mul(tf.sub(1, tf.cast(tf.reshape(mask.mask, [b, 1, t, s]), 'float32')), -1e9); // [B, 1, T, S]
    const p = tf.softmax(tf.add(scores, blocked)); // rows with no visible key: uniform, zeroed by `visible` below
    const weighted = tf.mul(tf.mul(p, tf.reshape(prior, [b, 1, t, s])), tf.reshape(mask.visible, [b, 1, t, 1]));
    return { y: r.y, penalty: tf.sum(weighted) as tf.Scalar };
  });
}

function crossBlock(
  w: CrossAttentionWeights,
  x: tf.Tensor3D,
  kv: LayerKV,
  mask: CrossMask,
  o: CrossOptions,
  start: number,
): { y: tf.Tensor3D; q: tf.Tensor4D } {
  const q0 = splitHeads(linear(rmsNorm(x, w.normAttn, o.normEps), w.q), o.nHeads); // [B, H, T, K]
  const q = o.rope ? applyRope(q0, start, o.rope.base, o.rope.rate) : q0;
  // a full mask (every position sees every source position) needs neither the mask nor `visible`
  const masked = mask.full ? {} : mask.prepared ? { prepared: mask.prepared } : { mask: mask.mask };
  const gate = (g: tf.Tensor1D): tf.Tensor => (mask.full ? tf.tanh(g) : tf.mul(mask.visible, tf.tanh(g))); // [1] or [B, T, 1]
  const a = attention(q, kv.k, kv.v, masked); // [B, H, T, K]; rows with no visible key are 0
  const merged = mergeHeads(a); // [B, T, D_X]
  const h = tf.add(x, tf.mul(gate(w.gateAttn), linear(merged, w.out))) as tf.Tensor3D;
  const ff = mlp(rmsNorm(h, w.normFf, o.normEps), w.up, w.down); // [B, T, D_X]
  return { y: tf.add(h, tf.mul(gate(w.gateFf), ff)) as tf.Tensor3D, q };
}
