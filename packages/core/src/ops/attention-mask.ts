/**
 * The masks of `attention` (ops/attention.ts) resolved into two constants that broadcast
 * against the scores [B, H, T, S]:
 *   bias    float32, added to the scaled scores: a finite additive mask where the key is
 *           visible, NEG (-1e9) where it is not, so a masked key's softmax weight is exactly 0
 *           whenever its row has a visible key (exp(-1e9 - max) underflows to 0 in float32);
 *   visible float32 0/1, multiplied into the probabilities: it zeroes the rows with no visible
 *           key (whose softmax would otherwise be a uniform average over masked keys).
 * `visible` is undefined when every row is known to see a key (causal with offset >= 0 and no
 * other mask): the causal-only path is then exactly today's (scores + causal staircase).
 *
 * A key is visible when it passes every given mask (they combine with AND):
 *   causal      key s <= t + causalOffset (causalOffset defaults to S - T);
 *   keyPadding  [B, S], bool (true = a real key) or a number (non-zero = a real key);
 *   mask        bool (true = may attend), or float32 additive (0 / negative; -Infinity = masked,
 *               finite values are added to the scores like any bias), of rank 2 [T, S],
 *               rank 3 [B|1, T, S] or rank 4 [B|1, H|1, T, S].
 * Masks are constants: no gradient flows to them.
 * `prepareAttentionMask(options, sizes)` resolves them once for many calls of the same sizes (a
 * decode loop reading one source segment): each call then adds 2 kernels (add the bias, zero
 * the empty rows) instead of the 4-7 that build them.
 *
 * Legend: B batch, H heads, T queries, S keys.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

/** What a masked key adds to its score. */
export const NEG = -1e9;

export interface AttentionMaskOptions {
  /** Query t sees keys s <= t + causalOffset. Default false. */
  readonly causal?: boolean;
  /** With `causal`: the offset of the staircase, an integer; default S - T. */
  readonly causalOffset?: number;
  /** [B, S]: true / non-zero = a real key, false / 0 = padding. */
  readonly keyPadding?: tf.Tensor2D;
  /** bool (true = may attend) or float32 additive, [T, S], [B|1, T, S] or [B|1, H|1, T, S]. */
  readonly mask?: tf.Tensor;
}

/** Masks resolved once for reuse (`prepareAttentionMask`); the caller disposes it. */
export interface PreparedAttentionMask {
  /** [B, H, T, S] of the attention calls it is for. */
  readonly sizes: readonly [number, number, number, number];
  /** float32, broadcastable to [B, H, T, S]; undefined when nothing is masked. */
  readonly bias?: tf.Tensor;
  /** float32 0/1, broadcastable to [B, H, T, S]; undefined when every row sees a key. */
  readonly visible?: tf.Tensor;
  dispose(): void;
}

export interface ResolvedMask {
  /** float32, broadcastable to [B, H, T, S]. */
  readonly bias: tf.Tensor;
  /** float32 0/1, broadcastable to [B, H, T, S]; undefined when every row sees a key. */
  readonly visible?: tf.Tensor;
}

/** The causal staircase [T, S] as bias: 0 where s <= t + offset, NEG elsewhere. */
export function causalBias(t: number, s: number, offset: number): tf.Tensor2D {
  const bias = new Float32Array(t * s);
  for (let i = 0; i < t; i++) for (let j = Math.max(0, i + offset + 1); j < s; j++) bias[i * s + j] = NEG;
  return tf.tensor2d(bias, [t, s]);
}

/** 1 where s <= t + offset, else 0, [T, S]. */
function causalVisible(t: number, s: number, offset: number): tf.Tensor2D {
  const vis = new Float32Array(t * s);
  for (let i = 0; i < t; i++) for (let j = 0; j < s && j <= i + offset; j++) vis[i * s + j] = 1;
  return tf.tensor2d(vis, [t, s]);
}

/** `mask` viewed as rank 4 [B|1, H|1, T, S], checked against the attention's sizes. */
function maskAs4D(mask: tf.Tensor, b: number, h: number, t: number, s: number): tf.Tensor4D {
  const fail = (why: string): never => {
    throw new ShapeError(
      `attention: mask ${why}; expected bool or float32 [T=${t}, S=${s}], [B=${b}|1, T, S] or [B|1, H=${h}|1, T, S], got ${mask.dtype} [${mask.shape}]`,
    );
  };
  if (mask.dtype !== 'bool' && mask.dtype !== 'float32')
    fail('has the wrong dtype (use bool for may-attend, float32 for an additive mask)');
  if (mask.rank < 2 || mask.rank > 4) fail('has the wrong rank');
  const shape = (
    mask.rank === 2 ? [1, 1, ...mask.shape] : mask.rank === 3 ? [mask.shape[0], 1, mask.shape[1], mask.shape[2]] : [...mask.shape]
  ) as [number, number, number, number];
  const [mb, mh, mt, ms] = shape;
  if (mt !== t || ms !== s) fail('must end in [T, S]');
  if ((mb !== 1 && mb !== b) || (mh !== 1 && mh !== h)) fail('must have batch 1 or B and heads 1 or H');
  return tf.reshape(mask, shape) as tf.Tensor4D;
}

/** Checks `causalOffset` and `keyPadding` (cheap, no tensors), so errors come before any work. */
export function checkMaskOptions(options: AttentionMaskOptions, b: number, h: number, t: number, s: number): void {
  const { causalOffset, keyPadding, mask } = options;
  if (causalOffset !== undefined && options.causal !== true) {
    throw new ShapeError(`attention: causalOffset (${causalOffset}) is given without causal: true; set causal: true or drop the offset`);
  }
  if (causalOffset !== undefined && !Number.isInteger(causalOffset)) {
    throw new ShapeError(`attention: causalOffset must be an integer (query t sees keys s <= t + causalOffset), got ${causalOffset}`);
  }
  if (keyPadding !== undefined) {
    if (keyPadding.rank !== 2 || keyPadding.shape[0] !== b || keyPadding.shape[1] !== s) {
      throw new ShapeError(
        `attention: keyPadding must be [B=${b}, S=${s}] (true / 1 = a real key), got ${keyPadding.dtype} [${keyPadding.shape}]`,
      );
    }
    if (keyPadding.dtype === 'complex64' || keyPadding.dtype === 'string') {
      throw new ShapeError(`attention: keyPadding must be bool, float32 or int32 (true / 1 = a real key), got ${keyPadding.dtype}`);
    }
  }
  if (mask !== undefined) {
    tf.tidy(() => {
      maskAs4D(mask, b, h, t, s);
    });
  }
}

/**
 * bias and visible for the given masks, or undefined when there is none. Call inside a tidy:
 * the returned tensors are new.
 */
export function resolveMask(options: AttentionMaskOptions, b: number, h: number, t: number, s: number): ResolvedMask | undefined {
  const causal = options.causal === true;
  const offset = options.causalOffset ?? s - t;
  const { keyPadding, mask } = options;
  if (!causal && keyPadding === undefined && mask === undefined) return undefined;
  // Today's causal path: every row sees key 0 when offset >= 0, so no zeroing is needed.
  if (keyPadding === undefined && mask === undefined) {
    if (offset >= s - 1) return undefined; // nothing is masked
    if (offset >= 0) return { bias: causalBias(t, s, offset) };
  }
  const factors: tf.Tensor[] = []; // float 0/1, each broadcastable to [B, H, T, S]
  let additive: tf.Tensor | undefined; // finite float32
  if (causal) factors.push(causalVisible(t, s, offset));
  if (keyPadding !== undefined) {
    const real = keyPadding.dtype === 'bool' ? keyPadding : tf.notEqual(keyPadding, tf.scalar(0, keyPadding.dtype));
    factors.push(tf.reshape(tf.cast(real, 'float32'), [b, 1, 1, s]));
  }
  if (mask !== undefined) {
    const m = maskAs4D(mask, b, h, t, s);
    if (m.dtype === 'bool') factors.push(tf.cast(m, 'float32'));
    else {
      const finite = tf.greater(m, tf.scalar(-Infinity)); // -Infinity (and NaN) = masked
      factors.push(tf.cast(finite, 'float32'));
      additive = tf.where(finite, m, tf.zerosLike(m));
    }
  }
  const visible = factors.reduce((a, f) => tf.mul(a, f)); // [B|1, H|1, T, S]
  const blocked = tf.mul(tf.sub(1, visible), NEG); // NEG where masked, 0 (or -0) elsewhere
  return { bias: additive ? tf.add(additive, blocked) : blocked, visible };
}

/**
 * The masks of `options` for attention calls of sizes [B, H, T, S], resolved once: pass the
 * result as `attention(q, k, v, { prepared })` (values and gradients bit-identical to passing
 * the options). The caller owns it: `dispose()` when done.
 */
export function prepareAttentionMask(
  options: AttentionMaskOptions,
  sizes: { batch: number; heads: number; queries: number; keys: number },
): PreparedAttentionMask {
  const { batch: b, heads: h, queries: t, keys: s } = sizes;
  for (const [name, n] of Object.entries(sizes)) {
    if (!Number.isInteger(n) || n < 1) throw new ShapeError(`prepareAttentionMask: sizes.${name} must be a positive integer, got ${n}`);
  }
  checkMaskOptions(options, b, h, t, s);
  const m = tf.tidy(() => {
    const r = resolveMask(options, b, h, t, s);
    return r ? (r.visible ? [r.bias, r.visible] : [r.bias]) : [];
  });
  const [bias, visible] = m;
  return {
    sizes: [b, h, t, s],
    ...(bias ? { bias } : {}),
    ...(visible ? { visible } : {}),
    dispose: () => tf.dispose(m),
  };
}
