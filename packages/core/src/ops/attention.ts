/**
 * `causalAttention(q, k, v, { causalOffset })`: softmax(q k^T / sqrt(K) + mask) v.
 * q [B, H, T, K], k and v [B, H, S, K] -> [B, H, T, K]. Query t attends keys s <= t + causalOffset;
 * `causalOffset` defaults to S - T (the queries are the last T positions of the S keys).
 *
 * Two paths, chosen by shape (measured with `node tools/bench/ops.mjs`):
 * - Decode (T = 1, every key visible): scores are an elementwise product summed over K and the
 *   output a weighted sum over S. For one query per head this is a handful of tiny elementwise
 *   ops, cheaper than matMuls (per-call operator setup dominates at this size).
 * - General (training, prefill): rank-3 matMuls over the B*H slices with a custom gradient.
 *   On wasm rank-3 matMuls never reach XNNPACK (~2.2 GFLOP/s with or without transpose
 *   flags), and splitting into per-slice 2-D matMuls was slower still (0.4-1.1 GFLOP/s: each
 *   call builds and packs a new XNNPACK operator), so the batched form stays. The custom
 *   gradient saves the probabilities and computes
 *     dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)) / sqrt(K),
 *     dQ = dS K,    dK = dS^T Q
 *   with explicit transposes, which skips TF.js's generic softmax/mask/scale gradient chain.
 *
 * Legend: B batch, H heads, T queries, S keys, K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';

export interface CausalAttentionOptions {
  readonly causalOffset?: number;
}

const NEG = -1e9;

/** Additive causal mask [T, S]: 0 where key s <= t + offset, -1e9 elsewhere. */
function causalMask(t: number, s: number, offset: number): tf.Tensor2D {
  const mask = new Float32Array(t * s);
  for (let i = 0; i < t; i++) for (let j = Math.max(0, i + offset + 1); j < s; j++) mask[i * s + j] = NEG;
  return tf.tensor2d(mask, [t, s]);
}

function check(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): void {
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) {
    throw new ShapeError(`causalAttention: q, k, v must be rank 4 [B, H, T|S, K], got [${q.shape}], [${k.shape}], [${v.shape}]`);
  }
  const [b, h, , kd] = q.shape;
  const sameKV = k.shape.every((n, i) => n === v.shape[i]);
  if (!sameKV || k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== kd) {
    throw new ShapeError(`causalAttention: k and v must be [B=${b}, H=${h}, S, K=${kd}] like q, got k [${k.shape}], v [${v.shape}]`);
  }
}

/** T = 1 and every key visible: elementwise scores, no matMul. */
function decodeAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  const kd = q.shape[3];
  return tf.tidy(() => {
    const scores = tf.sum(tf.mul(q, k), 3, true); // [B, H, S, 1]
    const p = tf.softmax(tf.mul(tf.transpose(scores, [0, 1, 3, 2]), 1 / Math.sqrt(kd)), -1); // [B, H, 1, S]
    return tf.sum(tf.mul(tf.transpose(p, [0, 1, 3, 2]), v), 2, true) as tf.Tensor4D; // [B, H, 1, K]
  });
}

/** Batched matMul attention with a custom gradient. */
function batchedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, offset: number): tf.Tensor4D {
  const [b, h, t, kd] = q.shape;
  const s = k.shape[2];
  const scale = 1 / Math.sqrt(kd);
  const masked = offset < s - 1;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qi, ki, vi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const q3 = tf.reshape(qi, [b * h, t, kd]) as tf.Tensor3D; // [BH, T, K]
    const k3 = tf.reshape(ki, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    const v3 = tf.reshape(vi, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    let scores = tf.mul(tf.matMul(q3, tf.transpose(k3, [0, 2, 1])), scale); // [BH, T, S]
    if (masked) scores = tf.add(scores, causalMask(t, s, offset));
    const p = tf.softmax(scores, -1); // [BH, T, S]
    save([q3, k3, v3, p]);
    const o = tf.reshape(tf.matMul(p, v3), [b, h, t, kd]); // [B, H, T, K]
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const dO = tf.reshape(dy, [b * h, t, kd]) as tf.Tensor3D; // [BH, T, K]
        const dV = tf.matMul(tf.transpose(sp, [0, 2, 1]), dO); // [BH, S, K]
        const dP = tf.matMul(dO, tf.transpose(sv, [0, 2, 1])); // [BH, T, S]
        const dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale); // [BH, T, S]
        const dQ = tf.matMul(dS, sk); // [BH, T, K]
        const dK = tf.matMul(tf.transpose(dS, [0, 2, 1]), sq); // [BH, S, K]
        return [tf.reshape(dQ, [b, h, t, kd]), tf.reshape(dK, [b, h, s, kd]), tf.reshape(dV, [b, h, s, kd])];
      },
    };
  });
  return f(q, k, v) as tf.Tensor4D;
}

export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: CausalAttentionOptions = {}): tf.Tensor4D {
  check(q, k, v);
  const t = q.shape[2];
  const s = k.shape[2];
  const offset = options.causalOffset ?? s - t;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ShapeError(`causalAttention: causalOffset must be an integer >= 0 so every query sees at least key 0, got ${offset}`);
  }
  if (t === 1 && offset >= s - 1) return decodeAttention(q, k, v);
  return batchedAttention(q, k, v, offset);
}
