/**
 * `causalAttention(q, k, v, { causalOffset })`: softmax(q k^T / sqrt(K)) v with a causal mask.
 * q [B, H, T, K], k and v [B, H, S, K] -> [B, H, T, K]. Query t attends keys s <= t + causalOffset;
 * `causalOffset` defaults to S - T (the queries are the last T positions of the S keys).
 *
 * Owner: the performance engineer (plain first version written by the model engineer;
 * replace the body, keep the signature).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface CausalAttentionOptions {
  readonly causalOffset?: number;
}

export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: CausalAttentionOptions = {}): tf.Tensor4D {
  const t = q.shape[2];
  const s = k.shape[2];
  const kd = q.shape[3];
  const offset = options.causalOffset ?? s - t;
  return tf.tidy(() => {
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(kd)); // [B, H, T, S]
    const mask = new Float32Array(t * s);
    for (let i = 0; i < t; i++) for (let j = Math.max(0, i + offset + 1); j < s; j++) mask[i * s + j] = -1e9;
    const p = tf.softmax(tf.add(scores, tf.tensor2d(mask, [t, s])), -1); // [B, H, T, S]
    return tf.matMul(p, v) as tf.Tensor4D; // [B, H, T, K]
  });
}
