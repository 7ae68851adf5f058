/**
 * What the ops need to know about the gradient tape.
 *
 * `recordingGradients()`: whether TF.js is recording operations for a gradient (inside tf.grad /
 * tf.variableGrads). Outside, the ops skip `tf.customGrad`, whose per-call bookkeeping is a
 * noticeable share of a decode step (one step runs ~26 custom-gradient ops); the forward math is
 * the same either way. This is the check TF.js's own fused ops use (`ENGINE.state.gradientDepth`).
 *
 * `withWatchedVariables(vars, fn)` / `isFrozen(t)`: frozen weights cost no weight-gradient work.
 * A `tf.customGrad` function computes the gradients of all its inputs whenever it runs, even of
 * a variable that `tf.variableGrads` was not asked for (TF.js only drops the result). So a
 * gradient strategy runs its `tf.variableGrads(f, vars)` inside `withWatchedVariables(vars, ...)`,
 * and the ops (`linear`, `embedding`, `tiedLogits`, `rmsNorm`, so `mlp` and the attention
 * projections) capture a weight for which `isFrozen(w)` holds as a constant: its gradient (dW) is
 * never computed. Gradients of everything else are bit-identical (test/ops-frozen.test.ts).
 * Without an active set (a user calling tf.grad directly) nothing is frozen: every input gets
 * its gradient, as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ZipperError } from '../errors.js';

export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** Ids of the variables being differentiated, while `withWatchedVariables` runs. */
let watched: ReadonlySet<number> | undefined;

/**
 * Runs the synchronous `fn` with `vars` as the set of variables being differentiated: every
 * other `tf.Variable` reaching an op counts as frozen (`isFrozen`). Sets nest (the innermost
 * wins) and are restored when `fn` returns or throws.
 */
export function withWatchedVariables<T>(vars: readonly tf.Variable[], fn: () => T): T {
  const previous = watched;
  watched = new Set(vars.map((v) => v.id));
  try {
    const result = fn();
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      throw new ZipperError(
        'withWatchedVariables: fn returned a Promise; the set only holds while fn runs synchronously, so keep the gradient computation (tf.variableGrads) synchronous inside it',
      );
    }
    return result;
  } finally {
    watched = previous;
  }
}

/** True when a watched set is active and `t` is a `tf.Variable` outside it. */
export function isFrozen(t: tf.Tensor): boolean {
  return watched !== undefined && t instanceof tf.Variable && !watched.has(t.id);
}
