/**
 * Whether TF.js is recording operations for a gradient (inside tf.grad / tf.variableGrads).
 * Outside, the ops skip `tf.customGrad`, whose per-call bookkeeping is a noticeable share of a
 * decode step (one step runs ~26 custom-gradient ops); the forward math is the same either way.
 * This is the check TF.js's own fused ops use (`ENGINE.state.gradientDepth`).
 */
import * as tf from '@tensorflow/tfjs-core';

export function recordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
