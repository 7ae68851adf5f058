/**
 * Rotary position embeddings with the reference's INTERLEAVED pairs: (x[2i], x[2i+1]) is
 * rotated by angle pos * base^(-2i/K), and the pairs are re-interleaved afterwards.
 *
 * Legend: B batch, H heads, T time, K head width (even).
 */
import * as tf from '@tensorflow/tfjs-core';

/** cos and sin tables [T, K/2] for positions start .. start+T-1 (float32, like the reference). */
export function ropeTables(start: number, t: number, k: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const half = k / 2;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(base, Math.fround((2 * i) / k))));
    for (let p = 0; p < t; p++) {
      const ang = Math.fround((start + p) * inv);
      cos[p * half + i] = Math.cos(ang);
      sin[p * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin };
}

/** x [B, H, T, K] at positions start .. start+T-1 -> rotated [B, H, T, K]. */
export function applyRope(x: tf.Tensor4D, start: number, base: number): tf.Tensor4D {
  const [b, h, t, k] = x.shape;
  const half = k / 2;
  return tf.tidy(() => {
    const { cos, sin } = ropeTables(start, t, k, base);
    const c = tf.tensor3d(cos, [t, half, 1]);
    const s = tf.tensor3d(sin, [t, half, 1]);
    const pairs = tf.reshape(x, [b, h, t, half, 2]); // [B, H, T, K/2, 2]
    const [x1, x2] = tf.split(pairs, 2, -1) as [tf.Tensor5D, tf.Tensor5D]; // x[0::2], x[1::2]: [B, H, T, K/2, 1]
    const r1 = tf.sub(tf.mul(x1, c), tf.mul(x2, s));
    const r2 = tf.add(tf.mul(x1, s), tf.mul(x2, c));
    return tf.reshape(tf.concat([r1, r2], -1), [b, h, t, k]) as tf.Tensor4D; // re-interleaved
  });
}
