/**
 * Rotary position embeddings with the reference's INTERLEAVED pairs: (x[2i], x[2i+1]) is
 * rotated by angle pos * base^(-2i/K), and the pairs stay interleaved:
 *   rope(x) = x * cos' + swap(x) * sin',   swap(x)[2i] = -x[2i+1], swap(x)[2i+1] = x[2i]
 * where cos', sin' repeat each pair's cos/sin twice. swap is a fixed signed permutation applied
 * as one plain 2-D matMul with a [K, K] matrix S (4 kernels in all instead of a split/concat
 * chain; an elementwise reverse of the pairs took 28.8 vs 10.7 ms on [8, 128, 8, 64] in a
 * one-off script on a loaded machine). While recording gradients rope is one custom-gradient op:
 * S is a constant, so the backward is only
 *   dx = dy * cos' + swap^T(dy * sin') = dy * cos' - swap(dy * sin')     (S^T = -S)
 * (one matMul; as a generic linear it also computed dS: in the reference-preset profile,
 * tools/bench/profile.ts, 17 ms of [64, 8192] @ [8192, 64] products and 6.6 ms of transposes in
 * a ~1,080 ms step).
 *
 * Legend: T time, K head width (even); x is (..., T, G, K) for any G (heads, or q and k heads).
 */
import * as tf from '@tensorflow/tfjs-core';
import '../kernels/gradients.js';
import { ROPE_KERNEL, useSmallKernel } from '../kernels/small-elementwise.js';
import { headsFirst, headsLast } from '../ops/heads.js';
import { recordingGradients } from '../ops/tape.js';

/**
 * cos and sin tables [T, K/2] for positions start .. start+T-1 (float32, like the reference),
 * each multiplied by `scale` (default 1: the integer positions, bit for bit; another scale puts
 * position p at p * scale, e.g. a cross-attention reader whose positions advance `scale` source
 * positions each).
 */
export function ropeTables(start: number, t: number, k: number, base: number, scale = 1): { cos: Float32Array; sin: Float32Array } {
  const half = k / 2;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(base, Math.fround((2 * i) / k))));
    for (let p = 0; p < t; p++) {
      const ang = Math.fround((scale === 1 ? start + p : Math.fround((start + p) * scale)) * inv);
      cos[p * half + i] = Math.cos(ang);
      sin[p * half + i] = Math.sin(ang);
    }
  }
  return { cos, sin };
}

/** [K, K] with x @ S = swap(x). */
function swapMatrix(k: number): tf.Tensor2D {
  const m = new Float32Array(k * k);
  for (let i = 0; i < k; i += 2) {
    m[(i + 1) * k + i] = -1; // out[2i]   = -x[2i+1]
    m[i * k + i + 1] = 1; //    out[2i+1] =  x[2i]
  }
  return tf.tensor2d(m, [k, k]);
}

/**
 * x [B, T, G, K] at positions start .. start+T-1 (the same position for all G; times `scale`,
 * see ropeTables) -> rotated, same shape.
 */
export function ropeBTGK(x: tf.Tensor4D, start: number, base: number, scale = 1): tf.Tensor4D {
  const [, t, , k] = x.shape;
  const shape = x.shape;
  const swap = (v: tf.Tensor, s: tf.Tensor2D): tf.Tensor => tf.reshape(tf.matMul(tf.reshape(v, [-1, k]) as tf.Tensor2D, s), shape); // [B, T, G, K]
  if (!recordingGradients() && useSmallKernel(ROPE_KERNEL, x)) {
    // A decode step: one kernel, no table tensors (kernels/small-elementwise.ts; bit-identical).
    const { cos, sin } = ropeTables(start, t, k, base, scale);
    return tf.engine().runKernel(ROPE_KERNEL, { x }, { cos: Array.from(cos), sin: Array.from(sin) }) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const { cos, sin } = ropeTables(start, t, k, base, scale);
    const rep = (a: Float32Array) => {
      const full = new Float32Array(2 * a.length);
      for (let i = 0; i < a.length; i++) full[2 * i] = full[2 * i + 1] = a[i] as number;
      return tf.tensor3d(full, [t, 1, k]); // [T, 1, K], each pair's value twice
    };
    const c = rep(cos);
    const s = rep(sin);
    const m = swapMatrix(k);
    if (!recordingGradients()) return tf.add(tf.mul(x, c), tf.mul(swap(x, m), s)) as tf.Tensor4D;
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [xi, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
      save([c, s, m]);
      return {
        value: tf.add(tf.mul(xi, c), tf.mul(swap(xi, m), s)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sc, ss, sm] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor2D];
          return [tf.sub(tf.mul(dy, sc), swap(tf.mul(dy, ss), sm))];
        },
      };
    });
    return f(x) as tf.Tensor4D;
  });
}

/** x [B, H, T, K] at positions start .. start+T-1 (times `scale`, see ropeTables) -> rotated [B, H, T, K]. */
export function applyRope(x: tf.Tensor4D, start: number, base: number, scale = 1): tf.Tensor4D {
  return tf.tidy(() => headsFirst(ropeBTGK(headsLast(x), start, base, scale)));
}
