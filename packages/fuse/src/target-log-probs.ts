/**
 * Teacher-forced log-probabilities of examples' target segments: per example, the sum over its
 * target positions (layoutBatch's `mask`) of ln p(next token | everything before it), the
 * cross-attention reading the earlier segments of the other towers. With an ASR example
 * `[speech][text (target)]` it is ln p_att(text | speech): the zipped text tower's score of a
 * transcript, which n-best rescoring adds to a first pass's (ctc-transcribe.ts, `rescore`).
 *
 *   const lp = targetLogProbs(zipper, hyps.map((h) => [speechSegment, wrapSegment(config, 'text', ids(h), { target: true })]));
 *
 * Legend: B examples, T a stream's longest row, V its vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { layoutBatch, type Example } from './segments.js';
import type { Zipper } from './zipper.js';

/** Per example, ln p of its target tokens (0 for an example without targets). Segments are checked as by layoutBatch. */
export function targetLogProbs(zipper: Zipper, examples: readonly Example[]): Float64Array {
  const batch = layoutBatch(zipper.config, examples);
  const B = batch.batchSize;
  const names = Object.keys(batch.streams).filter((n) => batch.streams[n]!.mask.some((m) => m !== 0));
  if (names.length === 0) return new Float64Array(B);
  const total = tf.tidy(() => {
    const logits = zipper.forward(batch, { logits: names });
    let sum = tf.zeros([B]) as tf.Tensor1D;
    for (const n of names) {
      const s = batch.streams[n]!;
      const x = logits[n] as tf.Tensor3D; // [B, T, V]
      const shape: [number, number] = [B, s.length];
      const picked = tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(tf.tensor2d(s.targets, shape, 'int32'), x.shape[2])), -1); // [B, T]
      sum = tf.add(sum, tf.sum(tf.mul(picked, tf.tensor2d(s.mask, shape, 'float32')), 1));
    }
    return sum;
  });
  const out = Float64Array.from(total.dataSync());
  total.dispose();
  return out;
}
