/**
 * `attention(q, k, v, options)`: softmax(q k^T / sqrt(K) + mask) v, the multi-head attention
 * core for self- and cross-attention. q [B, H, T, K], k and v [B, H, S, K] -> [B, H, T, K]
 * (T and S independent). Options (ops/attention-mask.ts; all given masks combine with AND):
 *   causal + causalOffset  query t sees keys s <= t + causalOffset (default S - T);
 *   keyPadding [B, S]      true / 1 = a real key (ragged batches);
 *   mask                   bool (true = may attend) or float32 additive (-Infinity = masked),
 *                          [T, S], [B|1, T, S] or [B|1, H|1, T, S];
 *   prepared               the same, resolved once by `prepareAttentionMask` (decode loops).
 * A masked key gets exactly zero probability. A query row with no visible key returns exactly
 * 0 and passes exactly 0 gradient to q, k and v (a fully masked softmax would instead average
 * all keys uniformly: the HF IDEFICS bug); no NaN, in values or gradients. Rows with a visible
 * key are the plain math. Masks are constants (no gradient).
 * `causalAttention(q, k, v, { causalOffset })` is `attention` with `causal: true` and an offset
 * >= 0 (every query sees key 0): the decoder tower's self-attention.
 *
 * One path for training, prefill and decode: rank-3 matMuls over the B*H slices (transpose
 * flags, no explicit transposes) with a custom gradient. On wasm those matMuls run in our SIMD
 * kernel (kernels/batch-matmul.ts), which packs transposed operands itself; TF.js's own wasm
 * kernel sends every rank-3 product to a slow generic loop, and per-slice 2-D matMuls were
 * slower still (each builds a new XNNPACK operator). For decode (T = 1) an elementwise
 * formulation (sum(q * k) over K) measured no faster than the matMul, so there is no separate
 * path. Measurements: `npx vite-node tools/bench/ops.ts`.
 * The custom gradient saves the probabilities P (masked rows and keys already 0) and computes
 *   dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)) / sqrt(K),
 *   dQ = dS K,    dK = dS^T Q,
 * which skips TF.js's generic softmax/mask/scale gradient chain. Where P is 0, dS is exactly 0.
 *
 * Legend: B batch, H heads, T queries, S keys, K head width.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import '../kernels/gradients.js';
import {
  type AttentionMaskOptions,
  checkMaskOptions,
  type PreparedAttentionMask,
  type ResolvedMask,
  resolveMask,
} from './attention-mask.js';
import { recordingGradients } from './tape.js';

export interface AttentionOptions extends AttentionMaskOptions {
  /** Masks from `prepareAttentionMask` for these sizes, instead of causal / keyPadding / mask. */
  readonly prepared?: PreparedAttentionMask;
}

export interface CausalAttentionOptions {
  /** Query t sees keys s <= t + causalOffset; an integer >= 0, default S - T. */
  readonly causalOffset?: number;
}

function check(name: string, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): void {
  for (const [arg, x] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (x.rank !== 4 || x.dtype !== 'float32')
      throw new ShapeError(`${name}: ${arg} must be float32 of rank 4 [B, H, ${arg === 'q' ? 'T' : 'S'}, K], got ${x.dtype} [${x.shape}]`);
  }
  const [b, h, , kd] = q.shape;
  const sameKV = k.shape.every((n, i) => n === v.shape[i]);
  if (!sameKV || k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== kd) {
    throw new ShapeError(`${name}: k and v must be [B=${b}, H=${h}, S, K=${kd}] like q, got k [${k.shape}], v [${v.shape}]`);
  }
}

/** Batched matMul attention with a custom gradient. */
function batchedAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: AttentionOptions): tf.Tensor4D {
  const [b, h, t, kd] = q.shape;
  const s = k.shape[2];
  const scale = 1 / Math.sqrt(kd);
  const { prepared } = options;
  const masks = (): ResolvedMask | undefined =>
    prepared
      ? prepared.bias
        ? { bias: prepared.bias, ...(prepared.visible ? { visible: prepared.visible } : {}) }
        : undefined
      : resolveMask(options, b, h, t, s);
  if (!recordingGradients()) {
    // Rank-4 matMuls straight away (no reshapes): fewer kernels per decode step.
    return tf.tidy(() => {
      const m = masks();
      let scores = tf.mul(tf.matMul(q, k, false, true), scale); // [B, H, T, S]
      if (m) scores = tf.add(scores, m.bias);
      let p = tf.softmax(scores, -1); // [B, H, T, S]
      if (m?.visible) p = tf.mul(p, m.visible);
      return tf.matMul(p, v) as tf.Tensor4D; // [B, H, T, K]
    });
  }
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qi, ki, vi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const q3 = tf.reshape(qi, [b * h, t, kd]) as tf.Tensor3D; // [BH, T, K]
    const k3 = tf.reshape(ki, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    const v3 = tf.reshape(vi, [b * h, s, kd]) as tf.Tensor3D; // [BH, S, K]
    const m = masks();
    let scores = tf.mul(tf.matMul(q3, k3, false, true), scale); // [BH, T, S]
    if (m) scores = tf.reshape(tf.add(tf.reshape(scores, [b, h, t, s]), m.bias), [b * h, t, s]); // [BH, T, S]
    let p = tf.softmax(scores, -1); // [BH, T, S]
    if (m?.visible) p = tf.reshape(tf.mul(tf.reshape(p, [b, h, t, s]), m.visible), [b * h, t, s]); // [BH, T, S]
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

export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: AttentionOptions = {}): tf.Tensor4D {
  check('attention', q, k, v);
  const sizes = [q.shape[0], q.shape[1], q.shape[2], k.shape[2]] as const;
  const { prepared } = options;
  if (prepared) {
    if (
      options.causal !== undefined ||
      options.causalOffset !== undefined ||
      options.keyPadding !== undefined ||
      options.mask !== undefined
    ) {
      throw new ShapeError(
        'attention: pass either prepared (from prepareAttentionMask) or causal / causalOffset / keyPadding / mask, not both',
      );
    }
    if (prepared.sizes.some((n, i) => n !== sizes[i])) {
      throw new ShapeError(
        `attention: prepared mask is for [B, H, T, S] = [${prepared.sizes}], this call is [${sizes}]; prepare one for these sizes`,
      );
    }
  } else checkMaskOptions(options, ...sizes);
  return batchedAttention(q, k, v, options);
}

export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: CausalAttentionOptions = {}): tf.Tensor4D {
  check('causalAttention', q, k, v);
  const offset = options.causalOffset ?? k.shape[2] - q.shape[2];
  if (!Number.isInteger(offset) || offset < 0) {
    throw new ShapeError(`causalAttention: causalOffset must be an integer >= 0 so every query sees at least key 0, got ${offset}`);
  }
  return batchedAttention(q, k, v, { causal: true, causalOffset: offset });
}
