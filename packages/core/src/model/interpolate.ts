/**
 * Weighted averages of weight sets of one model, key by key.
 *
 * `averageWeights(sets, weights)`: sum_i weights[i] * sets[i]. With several fine-tunings of one
 * start this is a model soup (Wortsman et al. 2022, "Model soups: averaging weights of multiple
 * fine-tuned models improves accuracy without increasing inference time"): runs that share their
 * start usually stay in one basin, and their average often keeps what each gained.
 *
 * `interpolateWeights(start, end, alpha)`: `(1 - alpha) * start + alpha * end`, the average of two.
 * With `start` the weights a fine-tuning began from and `end` its result, this is WiSE-FT
 * (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"): a point between the two often
 * keeps most of what the fine-tuning gained while giving back part of what it cost.
 *
 *   const mid = interpolateWeights(before.params, after.params, 0.5);          // new tensors, caller disposes
 *   const soup = averageWeights([a.params, b.params, c.params], [0.5, 0.25, 0.25]);
 *
 * Exact where it should be: alpha 0 gives `start` and alpha 1 gives `end` bit for bit, and an
 * element equal in every set (a weight the fine-tunings held) keeps its value bit for bit at any
 * weights (the sum alone would round it). Otherwise the sum is float32's, in the order of the sets:
 * ((w0 * x0) + (w1 * x1)) + ... . All sets must have the same keys and shapes, float32 weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { keySetProblems, shapesOf } from './keys.js';

/** How far the weights of an average may sum from 1 (decimal fractions such as 0.1 + 0.2 + 0.7). */
const SUM_TOLERANCE = 1e-9;

export function averageWeights(sets: readonly ReadonlyMap<string, tf.Tensor>[], weights: readonly number[]): Map<string, tf.Tensor> {
  if (sets.length < 1) throw new ConfigError('averageWeights: no weight sets to average');
  if (weights.length !== sets.length)
    throw new ConfigError(`averageWeights: ${sets.length} weight sets but ${weights.length} weights; give one weight per set`);
  for (const w of weights)
    if (!(Number.isFinite(w) && w >= 0 && w <= 1))
      throw new ConfigError(`averageWeights: every weight must be a number in [0, 1], got ${String(w)}`);
  const sum = weights.reduce((a, w) => a + w, 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE)
    throw new ConfigError(`averageWeights: the weights must sum to 1, got ${weights.join(' + ')} = ${sum}`);
  const first = sets[0]!;
  for (const [i, s] of sets.entries()) {
    const problems = keySetProblems(shapesOf(first), shapesOf(s));
    if (problems.length > 0) throw new ShapeError(`averageWeights: weight sets 0 and ${i} differ: ${problems.join('; ')}`);
  }
  const out = new Map<string, tf.Tensor>();
  try {
    for (const key of first.keys()) {
      const xs = sets.map((s) => s.get(key)!);
      const bad = xs.findIndex((x) => x.dtype !== 'float32');
      if (bad >= 0) throw new ShapeError(`averageWeights: ${key} is ${xs[bad]!.dtype} in weight set ${bad}; only float32 weights average`);
      out.set(
        key,
        tf.tidy(() => {
          const sum = xs.slice(1).reduce((acc, x, i) => tf.add(acc, tf.mul(x, weights[i + 1]!)), tf.mul(xs[0]!, weights[0]!));
          const held = xs.slice(1).reduce<tf.Tensor | undefined>((acc, x) => {
            const eq = tf.equal(xs[0]!, x);
            return acc ? tf.logicalAnd(acc, eq) : eq;
          }, undefined);
          return held ? tf.where(held, xs[0]!, sum) : xs[0]!.clone();
        }),
      );
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

export function interpolateWeights(
  start: ReadonlyMap<string, tf.Tensor>,
  end: ReadonlyMap<string, tf.Tensor>,
  alpha: number,
): Map<string, tf.Tensor> {
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1))
    throw new ConfigError(`interpolateWeights: alpha must be a number in [0, 1], got ${String(alpha)}`);
  if (alpha === 0 || alpha === 1) {
    const problems = keySetProblems(shapesOf(start), shapesOf(end));
    if (problems.length > 0) throw new ShapeError(`interpolateWeights: the two weight sets differ: ${problems.join('; ')}`);
    return new Map([...(alpha === 0 ? start : end)].map(([k, t]) => [k, t.clone()]));
  }
  return averageWeights([start, end], [1 - alpha, alpha]);
}
