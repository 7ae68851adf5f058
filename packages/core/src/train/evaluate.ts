/**
 * Held-out loss without gradients: per stream, the mean masked next-token cross-entropy over all
 * the batches' mask-1 targets of that stream; in total, the weighted sum of the streams' means
 * (the same quantities a training step reports, streams.ts).
 *
 *   evaluateLoss(tower, batches)        // `Batch`es through forward(ids): one stream, `tokens`
 *   evaluateStreams(spec, batches)      // any LossSpec (the one a LossGradients was built from)
 *   withPrefixedStreams(e, e2, 'noisy_') // a second held-out set's streams beside the first's
 *
 * Legend: B batch, T time, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import type { Batch } from './data.js';
import { nextTokenLoss, runLoss, type LossSpec } from './loss-gradients.js';
import type { LogitsModel } from './model.js';
import { addCounts, resolveStreamWeights } from './streams.js';

export interface StreamEvaluation {
  /** Mean NLL per counted target of this stream (nats). */
  readonly loss: number;
  /** exp(loss). */
  readonly perplexity: number;
  /** Counted targets of this stream. */
  readonly targets: number;
}

export interface Evaluation {
  /** Weighted sum of the streams' mean NLLs (one stream of weight 1: its mean NLL). */
  readonly loss: number;
  /** exp(loss). */
  readonly perplexity: number;
  /** Counted targets over all streams. */
  readonly targets: number;
  /** Per stream with at least one target. */
  readonly streams: Readonly<Record<string, StreamEvaluation>>;
}

/** The next-token loss of `model` on `Batch`es (stream `tokens`). */
export function evaluateLoss(model: LogitsModel, batches: readonly Batch[]): Evaluation {
  return evaluateStreams(nextTokenLoss(model), batches);
}

/** The loss of `spec` on batches of any type; every stream's sum is divided by its count over all batches. */
export function evaluateStreams<B>(spec: LossSpec<B>, batches: readonly B[]): Evaluation {
  const weights = resolveStreamWeights(spec.weights);
  const counts = addCounts(batches.map((b) => spec.countTargets(b)));
  const targets = Object.values(counts).reduce((a, b) => a + b, 0);
  if (targets === 0) throw new ShapeError('evaluateLoss: the batches hold no target with mask 1');
  // denominator 1: each stream's summed NLL of one batch, so batches of any size combine exactly
  const ones = Object.fromEntries(Object.keys(counts).map((s) => [s, counts[s]! > 0 ? 1 : 0]));
  const sums: Record<string, number> = {};
  for (const batch of batches) {
    const values = tf.tidy(() => {
      const { streams } = runLoss(spec, weights, batch, { denominators: ones, training: false });
      return Object.entries(streams).map(([s, t]) => [s, t.dataSync()[0]!] as const);
    });
    for (const [s, v] of values) sums[s] = (sums[s] ?? 0) + v;
  }
  const streams: Record<string, StreamEvaluation> = {};
  let loss = 0;
  for (const [s, n] of Object.entries(counts)) {
    if (n === 0) continue;
    const mean = (sums[s] ?? 0) / n;
    streams[s] = { loss: mean, perplexity: Math.exp(mean), targets: n };
    loss += (weights[s] ?? 1) * mean;
  }
  return { loss, perplexity: Math.exp(loss), targets, streams };
}

/**
 * `base` with `extra`'s streams added under `prefix` (e.g. `noisy_text_ctc`): a second held-out set
 * reported beside the first. `loss`, `perplexity` and `targets` stay `base`'s, so the total stays
 * comparable with runs that have no second set. Throws ConfigError for a prefix that is not
 * lowercase letters and digits ending in "_", or that would overwrite a stream of `base`.
 */
export function withPrefixedStreams(base: Evaluation, extra: Evaluation, prefix: string): Evaluation {
  if (!/^[a-z][a-z0-9]*_$/.test(prefix))
    throw new ConfigError(`withPrefixedStreams: prefix "${prefix}" must be lowercase letters and digits ending in "_"`);
  const streams: Record<string, StreamEvaluation> = { ...base.streams };
  for (const [s, e] of Object.entries(extra.streams)) {
    if (streams[`${prefix}${s}`] !== undefined)
      throw new ConfigError(`withPrefixedStreams: stream ${prefix}${s} is already in the base evaluation`);
    streams[`${prefix}${s}`] = e;
  }
  return { ...base, streams };
}
