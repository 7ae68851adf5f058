/**
 * Greedy decoding of a CTC head (docs/zipper.md, "CTC head"): the source tower's positions run
 * alone (no other tower, so no cross-attention), the head's most likely class at each real
 * position is taken, repeats are merged and blanks dropped. With `head.labels` the result is a
 * label sequence (e.g. bytes), else token ids of the head's `to` tower.
 *
 *   const bytes = ctcGreedy(zipper, [[speechBos, ...units, speechEos]]);   // per row
 *
 * Legend: B rows, S the longest row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { ctcClasses, ctcHeadName, type CtcHeadSpec } from './config.js';
import { sourceBatch } from './ctc-joint.js';
import type { Zipper } from './zipper.js';

/** Per row of `inputs` (ids of the head's source tower, bos and eos included): the decoded labels. */
export function ctcGreedy(zipper: Zipper, inputs: readonly (readonly number[])[], head?: CtcHeadSpec): number[][] {
  const h = head ?? zipper.config.ctc[0];
  if (!h) throw new ConfigError('this zipped model has no CTC head (config.ctc); decode with generateZipped');
  if (inputs.length === 0) return [];
  const { ids, global, b, s } = sourceBatch(zipper, h, inputs);
  const blank = ctcClasses(zipper.config, h);
  const best = tf.tidy(() => {
    const out = zipper.run({ [h.from]: { length: s, ids, global } }, b, { logits: [], ctc: true });
    return tf.argMax((out.ctc as Record<string, tf.Tensor3D>)[ctcHeadName(h)] as tf.Tensor3D, 2); // [B, S]
  });
  const arg = best.dataSync() as Int32Array;
  best.dispose();
  return inputs.map((row, r) => {
    const labels: number[] = [];
    let prev = -1;
    for (let i = 0; i < row.length; i++) {
      const k = arg[r * s + i] as number;
      if (k !== prev && k !== blank) labels.push(k);
      prev = k;
    }
    return labels;
  });
}
