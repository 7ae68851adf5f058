/**
 * Linear interpolation between two weight sets of one model: `(1 - alpha) * start + alpha * end`,
 * key by key. With `start` the weights a fine-tuning began from and `end` its result, this is
 * WiSE-FT (Wortsman et al. 2022, "Robust fine-tuning of zero-shot models"): a point between the
 * two often keeps most of what the fine-tuning gained while giving back part of what it cost.
 *
 *   const mid = interpolateWeights(before.params, after.params, 0.5);   // new tensors, caller disposes
 *
 * Exact where it should be: alpha 0 gives `start` and alpha 1 gives `end` bit for bit, and an
 * element equal in both sets (a weight the fine-tuning held) keeps its value bit for bit at any
 * alpha (the blend alone would round it). Both sets must have the same keys and shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { keySetProblems, shapesOf } from './keys.js';

export function interpolateWeights(
  start: ReadonlyMap<string, tf.Tensor>,
  end: ReadonlyMap<string, tf.Tensor>,
  alpha: number,
): Map<string, tf.Tensor> {
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha <= 1))
    throw new ConfigError(`interpolateWeights: alpha must be a number in [0, 1], got ${String(alpha)}`);
  const problems = keySetProblems(shapesOf(start), shapesOf(end));
  if (problems.length > 0) throw new ShapeError(`interpolateWeights: the two weight sets differ: ${problems.join('; ')}`);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [key, a] of start) {
      const b = end.get(key)!;
      if (a.dtype !== 'float32' || b.dtype !== 'float32')
        throw new ShapeError(`interpolateWeights: ${key} is ${a.dtype} / ${b.dtype}; only float32 weights interpolate`);
      out.set(
        key,
        alpha === 0
          ? a.clone()
          : alpha === 1
            ? b.clone()
            : tf.tidy(() => tf.where(tf.equal(a, b), a, tf.add(tf.mul(a, 1 - alpha), tf.mul(b, alpha)))),
      );
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}
