/**
 * Losses over several output streams (e.g. a zipped model's text tokens and speech units).
 *
 * Legend: B batch, T time, V vocabulary (each stream has its own B, T and V).
 *
 * A stream is `{ logits [B, T, V], targets int32 [B, T], mask float32 [B, T] }`. With a weight
 * w_s and a denominator d_s per stream, the loss of one micro-batch is
 *
 *   loss = sum_s w_s * sum_{b,t}(mask_s * nll_s) / d_s
 *
 * where d_s is stream s's count of mask-1 targets over the WHOLE step (all accumulated
 * micro-batches), so k micro-batches still sum to the big batch's loss, per stream. Why per
 * stream: an utterance has ~15 text tokens and ~150 speech units; one shared denominator would
 * let the speech stream swamp the text stream.
 *
 * Each stream's term is the fused cross-entropy of loss.ts (`maskedCrossEntropy`), so a single
 * stream of weight 1 gives exactly the single-stream loss, bit for bit.
 * A stream whose step denominator is 0 (no target of it in this step, e.g. a multitask step
 * drawn without that task) contributes nothing and is left out of the reported streams.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { maskedCrossEntropy } from './loss.js';

/** The stream name of a single-stream loss (a `Batch` and the default strategy). */
export const DEFAULT_STREAM = 'tokens';

/** Per-stream numbers: target counts (denominators), weights or loss values. */
export type StreamCounts = Readonly<Record<string, number>>;

/** One output stream of a micro-batch. */
export interface LossStream {
  /** [B, T, V] */
  readonly logits: tf.Tensor3D;
  /** int32 [B, T] */
  readonly targets: tf.Tensor2D;
  /** float32 [B, T] of 0/1; absent = all ones. */
  readonly mask?: tf.Tensor2D;
}

/** A total loss and each stream's unweighted share sum(mask * nll) / d_s (scalars). */
export interface StreamLossResult {
  readonly loss: tf.Scalar;
  readonly streams: Readonly<Record<string, tf.Scalar>>;
}

/** Checks stream weights (finite, >= 0, not all 0); throws ConfigError naming the stream. */
export function resolveStreamWeights(weights: StreamCounts = {}): StreamCounts {
  for (const [s, w] of Object.entries(weights)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      throw new ConfigError(`weight of stream "${s}" must be a finite number >= 0, got ${String(w)}`);
  }
  return { ...weights };
}

/**
 * The weighted multi-stream loss (see the file header). Streams are summed in the record's key
 * order; a missing weight is 1. Throws ShapeError when a stream has no denominator. Call inside
 * `tf.tidy` (or `tf.variableGrads`): the returned scalars are new tensors.
 */
export function streamLoss(
  streams: Readonly<Record<string, LossStream>>,
  denominators: StreamCounts,
  weights: StreamCounts = {},
): StreamLossResult {
  const names = Object.keys(streams);
  if (names.length === 0) throw new ShapeError('the loss returned no stream; return { streams: { name: { logits, targets, mask } } }');
  let loss: tf.Scalar | undefined;
  const shares: Record<string, tf.Scalar> = {};
  for (const s of names) {
    const d = denominators[s];
    if (d === undefined) {
      throw new ShapeError(
        `the loss returned stream "${s}" but the target counts name only ${
          Object.keys(denominators)
            .map((k) => `"${k}"`)
            .join(', ') || 'none'
        }; countTargets(batch) must count every stream the loss returns`,
      );
    }
    if (!(d >= 0)) throw new ShapeError(`the denominator of stream "${s}" must be >= 0, got ${d}`);
    if (d === 0) continue; // no target of this stream in the whole step
    const { logits, targets, mask } = streams[s]!;
    const share = maskedCrossEntropy(logits, targets, mask, d);
    shares[s] = share;
    const w = weights[s] ?? 1;
    if (w === 0) continue;
    const term = w === 1 ? share : (tf.mul(share, tf.scalar(w)) as tf.Scalar);
    loss = loss ? (tf.add(loss, term) as tf.Scalar) : term;
  }
  return { loss: loss ?? tf.scalar(0), streams: shares };
}

/** Per-stream sums of several count records (keys in first-seen order). */
export function addCounts(counts: readonly StreamCounts[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [s, n] of Object.entries(c)) out[s] = (out[s] ?? 0) + n;
  return out;
}

/** The sum over every stream. */
export function totalCount(counts: StreamCounts): number {
  let n = 0;
  for (const v of Object.values(counts)) n += v;
  return n;
}
