/**
 * `ctcLoss(logits, labels, options)`: the connectionist temporal classification loss (Graves et
 * al., 2006) of each row, -log p(labels | logits), summed over every alignment of the labels to
 * the row's frames that collapses (merge repeats, drop blanks) to them. Values and gradients
 * equal PyTorch's `F.ctc_loss(log_softmax(logits), ..., reduction='none')` (test/ops-ctc.test.ts
 * checks both against an enumeration of every alignment and against PyTorch where installed).
 *
 * Computed on the host in float64, in log space: alpha (forward) and beta (backward, without the
 * emission at t), occupancy gamma_t(s) = alpha_t(s) beta_t(s) / p over the 2L+1 states of the
 * blank-extended labels, and the gradient with respect to the logits
 *   d(-log p) / d logits[t, k] = softmax(logits)[t, k] - sum_{s: l'_s = k} gamma_t(s)
 * (0 on frames past the row's length). The work is O(B T L) plus one softmax over [B, T, V];
 * with L in the tens (a sentence's tokens) it is small next to the layer that makes the logits.
 *
 * A row whose labels cannot fit its frames (T < L + the number of adjacent repeats) has no
 * alignment: `ShapeError`, or with `zeroInfinity` a loss of 0 and no gradient (PyTorch's
 * `zero_infinity`).
 *
 * Legend: B batch, T frames, V classes (the blank included), L labels of a row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { recordingGradients } from './tape.js';

export interface CtcOptions {
  /** The blank's class index in [0, V). */
  readonly blank: number;
  /** Real frames of each row (default: T for every row); later frames are padding. */
  readonly frameLengths?: ArrayLike<number>;
  /** A row with no alignment gets loss 0 and no gradient instead of an error (default false). */
  readonly zeroInfinity?: boolean;
}

/** log(exp(a) + exp(b)), exact at -Infinity (host float64; CTC forward-backward and prefix scoring). */
export const logAdd = (a: number, b: number): number => {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
};

/** Row r's labels -> the blank-extended sequence [blank, l1, blank, l2, ..., blank]. */
function extend(labels: readonly number[], blank: number): Int32Array {
  const ext = new Int32Array(2 * labels.length + 1).fill(blank);
  labels.forEach((l, i) => (ext[2 * i + 1] = l));
  return ext;
}

/** Minimum frames for `labels`: one per label plus a blank between adjacent equal labels. */
export function ctcMinFrames(labels: readonly number[]): number {
  let n = labels.length;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) n++;
  return n;
}

interface RowResult {
  readonly nll: number;
  /** Occupancy sums per (t, class) as [t, k, value] triples, when asked for. */
  readonly occupancy?: Array<[number, number, number]>;
}

/** Forward-backward over one row's log-probabilities logp [T, V] (row-major at `base`). */
function ctcRow(
  logp: Float32Array,
  base: number,
  v: number,
  t: number,
  labels: readonly number[],
  blank: number,
  grads: boolean,
): RowResult {
  const ext = extend(labels, blank);
  const s = ext.length;
  const em = (f: number, i: number) => logp[base + f * v + (ext[i] as number)] as number;
  const canSkip = (i: number) => i >= 2 && ext[i] !== blank && ext[i] !== ext[i - 2];
  const alpha = new Float64Array(t * s).fill(-Infinity);
  alpha[0] = em(0, 0);
  if (s > 1) alpha[1] = em(0, 1);
  for (let f = 1; f < t; f++) {
    for (let i = 0; i < s; i++) {
      let a = alpha[(f - 1) * s + i] as number;
      if (i >= 1) a = logAdd(a, alpha[(f - 1) * s + i - 1] as number);
      if (canSkip(i)) a = logAdd(a, alpha[(f - 1) * s + i - 2] as number);
      alpha[f * s + i] = a === -Infinity ? -Infinity : a + em(f, i);
    }
  }
  const last = (t - 1) * s;
  const ll = s > 1 ? logAdd(alpha[last + s - 1] as number, alpha[last + s - 2] as number) : (alpha[last] as number);
  if (!grads || ll === -Infinity) return { nll: -ll };
  // beta_t(i): log-probability of the frames after t given state i at t (no emission at t)
  const beta = new Float64Array(t * s).fill(-Infinity);
  beta[last + s - 1] = 0;
  if (s > 1) beta[last + s - 2] = 0;
  for (let f = t - 2; f >= 0; f--) {
    for (let i = 0; i < s; i++) {
      const nx = (f + 1) * s;
      let b = (beta[nx + i] as number) + em(f + 1, i);
      if (i + 1 < s) b = logAdd(b, (beta[nx + i + 1] as number) + em(f + 1, i + 1));
      if (i + 2 < s && canSkip(i + 2)) b = logAdd(b, (beta[nx + i + 2] as number) + em(f + 1, i + 2));
      beta[f * s + i] = b;
    }
  }
  const occupancy: Array<[number, number, number]> = [];
  const acc = new Map<number, number>();
  for (let f = 0; f < t; f++) {
    acc.clear();
    for (let i = 0; i < s; i++) {
      const g = (alpha[f * s + i] as number) + (beta[f * s + i] as number) - ll;
      if (g === -Infinity) continue;
      const k = ext[i] as number;
      acc.set(k, (acc.get(k) ?? 0) + Math.exp(g));
    }
    for (const [k, g] of acc) occupancy.push([f, k, g]);
  }
  return { nll: -ll, occupancy };
}

/**
 * Per-row CTC negative log-likelihood [B] of `logits` [B, T, V] (unnormalized; a log-softmax over
 * V is taken here) for `labels[b]` (class ids, no blank); differentiable with respect to logits.
 */
export function ctcLoss(logits: tf.Tensor3D, labels: readonly (readonly number[])[], options: CtcOptions): tf.Tensor1D {
  if (logits.rank !== 3) throw new ShapeError(`ctcLoss: logits must be [B, T, V], got [${logits.shape}]`);
  const [b, t, v] = logits.shape;
  const blank = options.blank;
  if (!Number.isInteger(blank) || blank < 0 || blank >= v) throw new ShapeError(`ctcLoss: blank ${blank} must be a class in [0, ${v})`);
  if (labels.length !== b) throw new ShapeError(`ctcLoss: ${labels.length} label rows for a batch of ${b}`);
  const lengths = Array.from({ length: b }, (_, r) => (options.frameLengths ? Number(options.frameLengths[r]) : t));
  labels.forEach((row, r) => {
    const n = lengths[r] as number;
    if (!Number.isInteger(n) || n < 1 || n > t) throw new ShapeError(`ctcLoss: row ${r}: frame length ${n} must be in [1, ${t}]`);
    row.forEach((l, j) => {
      if (!Number.isInteger(l) || l < 0 || l >= v || l === blank)
        throw new ShapeError(`ctcLoss: row ${r}, label ${j}: ${l} must be a class in [0, ${v}) other than the blank ${blank}`);
    });
    if (!options.zeroInfinity && ctcMinFrames(row) > n)
      throw new ShapeError(
        `ctcLoss: row ${r}: ${row.length} labels need at least ${ctcMinFrames(row)} frames, the row has ${n}; shorten the labels or pass zeroInfinity`,
      );
  });
  const grads = recordingGradients();
  const run = (x: tf.Tensor3D) => {
    const logp = tf.tidy(() => tf.logSoftmax(x)).dataSync() as Float32Array; // [B, T, V]
    const nll = new Float32Array(b);
    const dLogits = grads ? new Float32Array(b * t * v) : undefined;
    for (let r = 0; r < b; r++) {
      const n = lengths[r] as number;
      const res = ctcRow(logp, r * t * v, v, n, labels[r] as readonly number[], blank, grads);
      if (!Number.isFinite(res.nll)) continue; // zeroInfinity (checked above otherwise): 0, no gradient
      nll[r] = res.nll;
      if (!dLogits || !res.occupancy) continue;
      const base = r * t * v;
      for (let i = 0; i < n * v; i++) dLogits[base + i] = Math.exp(logp[base + i] as number);
      for (const [f, k, g] of res.occupancy) dLogits[base + f * v + k] = (dLogits[base + f * v + k] as number) - g;
    }
    return { nll, dLogits };
  };
  if (!grads) return tf.tensor1d(run(logits).nll, 'float32');
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x] = args as [tf.Tensor3D];
    const { nll, dLogits } = run(x);
    return {
      value: tf.tensor1d(nll, 'float32'),
      gradFunc: (dy: tf.Tensor) => tf.tidy(() => [tf.mul(tf.tensor3d(dLogits as Float32Array, [b, t, v]), tf.reshape(dy, [b, 1, 1]))]), // [B, T, V]
    };
  });
  return f(logits) as tf.Tensor1D;
}
