/**
 * `causalAttention(q, k, v, { causalOffset })`: softmax(q k^T / sqrt(K) + mask) v.
 * q [B, H, T, K], k and v [B, H, S, K] -> [B, H, T, K]. Query t attends keys s <= t + causalOffset;
 * `causalOffset` defaults to S - T (the queries are the last T positions of the S keys).
 *
 * One path for training, prefill and decode: rank-3 matMuls over the B*H slices (transpose
 * flags, no explicit transposes) with a custom gradient. On wasm those matMuls run in our SIMD
 * kernel (kernels/batch-matmul.ts), which packs transposed operands itself; TF.js's own wasm
 * kernel sends every rank-3 product to a slow generic loop, and per-slice 2-D matMuls were
 * slower still (each builds a new XNNPACK operator). For decode (T = 1) an elementwise
 * formulation (sum(q * k) over K) measured no faster than the matMul, so there is no separate
 * path. Measurements: `npx vite-node tools/bench/ops.ts`.
 * The custom gradient saves the probabilities P and computes
 *   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)) / sqrt(K),
 *   dQ = dS K,    dK = dS^T Q,
 * which skips TF.js's generic softmax/mask/scale gradient chain.
 *
 * Legend: B batch, H heads, T queries, S keys, K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import { recordingGradients } from './tape.js';

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

/** Batched matMul attention with a custom gradient. */
function batchedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, offset: number): tf.Tensor4D {
  const [b, h, t, kd] = q.shape;
  const s = k.shape[2];
  const scale = 1 / Math.sqrt(kd);
  const masked = offset < s - 1;
  if (!recordingGradients()) {
    // Rank-4 matMuls straight away (no reshapes): fewer kernels per decode step.
    return tf.tidy(() => {
      let scores = tf.mul(tf.matMul(q, k, false, true), scale); // [B, H, T, S]
      if (masked) scores = tf.add(scores, causalMask(t, s, offset));
      return tf.matMul(tf.softmax(scores, -1), v) as tf.Tensor4D; // [B, H, T, K]
    });
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qi, ki, vi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const q3 = tf.reshape(qi, [b * h, t, kd]) as tf.Tensor3D; // [BH, T, K]
    const k3 = tf.reshape(ki, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    const v3 = tf.reshape(vi, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    let scores = tf.mul(tf.matMul(q3, k3, false, true), scale); // [BH, T, S]
    if (masked) scores = tf.add(scores, causalMask(t, s, offset));
    const p = tf.softmax(scores, -1); // [BH, T, S]
    save([q3, k3, v3, p]);
    const o = tf.reshape(tf.matMul(p, v3), [b, h, t, kd]); // [B, H, T, K]
    return {
      value: o,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        const dO = tf.reshape(dy, [b * h, t, kd]) as tf.Tensor3D; // [BH, T, K]
        const dV = tf.matMul(sp, dO, true, false); // [BH, S, K]
        const dP = tf.matMul(dO, sv, false, true); // [BH, T, S]
        const dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale); // [BH, T, S]
        const dQ = tf.matMul(dS, sk); // [BH, T, K]
        const dK = tf.matMul(dS, sq, true, false); // [BH, S, K]
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
  return batchedAttention(q, k, v, offset);
}
