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
import { ShapeError } from '../errors.js';

/**
 * cos and sin tables [T, K/2] for positions start .. start+T-1 (float32, like the reference),
 * each multiplied by `scale` (default 1: the integer positions, bit for bit; another scale puts
 * position p at p * scale, e.g. a cross-attention reader whose positions advance `scale` source
 * positions each).
 */
export function ropeTables(start: number, t: number, k: number, base: number, scale = 1): { cos: Float32Array; sin: Float32Array } {
  const positions = new Float32Array(t);
  for (let p = 0; p < t; p++) positions[p] = scale === 1 ? start + p : Math.fround((start + p) * scale);
  return ropeTablesAt(positions, k, base);
}

/**
 * cos and sin tables [P, K/2] for any positions (float32; fractional ones too, e.g. a source
 * position counted in the bytes of the tokens before it). `ropeTables` is this at start + p.
 */
export function ropeTablesAt(positions: Float32Array, k: number, base: number): { cos: Float32Array; sin: Float32Array } {
  const half = k / 2;
  const t = positions.length;
  const cos = new Float32Array(t * half);
  const sin = new Float32Array(t * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / Math.fround(Math.pow(base, Math.fround((2 * i) / k))));
    for (let p = 0; p < t; p++) {
      const ang = Math.fround((positions[p] as number) * inv);
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
  const { cos, sin } = ropeTables(start, t, k, base, scale);
  // A decode step: one kernel, no table tensors (kernels/small-elementwise.ts; bit-identical).
  if (!recordingGradients() && useSmallKernel(ROPE_KERNEL, x))
    return tf.engine().runKernel(ROPE_KERNEL, { x }, { cos: Array.from(cos), sin: Array.from(sin) }) as tf.Tensor4D;
  return rotate(x, cos, sin, [t, 1, k]);
}

/**
 * x [B, T, G, K] with its own position per row and time (`positions` [B * T], row-major; the
 * same for all G) -> rotated, same shape. Never the one-kernel decode path: its tables are [T].
 */
export function ropeBTGKAt(x: tf.Tensor4D, positions: Float32Array, base: number): tf.Tensor4D {
  const [b, t, , k] = x.shape;
  if (positions.length !== b * t) throw new ShapeError(`rope positions: expected B * T = ${b} * ${t} entries, got ${positions.length}`);
  const { cos, sin } = ropeTablesAt(positions, k, base);
  return rotate(x, cos, sin, [b, t, 1, k]);
}

/**
 * x rotated by the tables cos, sin [P, K/2] (P the product of `shape` but its last two dims),
 * broadcast as `shape` ([.., 1, K]); while recording gradients, one custom-gradient op.
 */
function rotate(x: tf.Tensor4D, cos: Float32Array, sin: Float32Array, shape: number[]): tf.Tensor4D {
  const k = x.shape[3];
  const xShape = x.shape;
  const swap = (v: tf.Tensor, s: tf.Tensor2D): tf.Tensor => tf.reshape(tf.matMul(tf.reshape(v, [-1, k]) as tf.Tensor2D, s), xShape); // [B, T, G, K]
  return tf.tidy(() => {
    const rep = (a: Float32Array) => {
      const full = new Float32Array(2 * a.length);
      for (let i = 0; i < a.length; i++) full[2 * i] = full[2 * i + 1] = a[i] as number;
      return tf.tensor(full, shape); // each pair's value twice
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
          const [sc, ss, sm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor2D];
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

/** x [B, H, T, K] with a position per row and time (`positions` [B * T], see ropeBTGKAt) -> rotated [B, H, T, K]. */
export function applyRopeAt(x: tf.Tensor4D, positions: Float32Array, base: number): tf.Tensor4D {
  return tf.tidy(() => headsFirst(ropeBTGKAt(headsLast(x), positions, base)));
}
