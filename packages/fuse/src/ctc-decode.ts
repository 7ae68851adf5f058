/**
 * Greedy decoding of a CTC head (docs/zipper.md, "CTC head"): the source tower's positions run
 * alone (no other tower, so no cross-attention), the head's most likely class at each real
 * position is taken, repeats are merged and blanks dropped (`ctcLogProbs`: the head's log-probabilities,
 * which joint decoding, ctc-joint.ts, scores prefixes with). With `head.labels` the result is a
 * label sequence (e.g. bytes), else token ids of the head's `to` tower.
 *
 *   const bytes = ctcGreedy(zipper, [[speechBos, ...units, speechEos]]);   // per row
 *
 * Legend: B rows, S the longest row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { argmax, ConfigError, ShapeError } from '@zipper/core';
import { CTC_BYTE_CLASSES, ctcClasses, ctcHeadName, towerSpec, type CtcHeadSpec } from './config.js';
import type { Zipper } from './zipper.js';

/** Per row of `inputs` (ids of the head's source tower, bos and eos included): the decoded labels. */
export function ctcGreedy(zipper: Zipper, inputs: readonly (readonly number[])[], head?: CtcHeadSpec): number[][] {
  const { rows, classes } = ctcLogProbs(zipper, inputs, head);
  const width = classes + 1; // the blank is class `classes`
  return rows.map((lp) => {
    const labels: number[] = [];
    let prev = -1;
    for (let i = 0; i < lp.length / width; i++) {
      const k = argmax(lp.subarray(i * width, (i + 1) * width));
      if (k !== prev && k !== classes) labels.push(k);
      prev = k;
    }
    return labels;
  });
}

/**
 * The text of a CTC head's labels (ctcGreedy's output): a head over its `to` tower's tokens is
 * decoded by `decodeTokens` (the tower's tokenizer); a head with a label map of 256 classes holds
 * UTF-8 bytes (invalid sequences become U+FFFD). Trimmed. Other label maps have no known text.
 */
export function ctcText(head: CtcHeadSpec, labels: readonly number[], decodeTokens: (ids: number[]) => string): string {
  if (!head.labels) return decodeTokens([...labels]).trim();
  if (head.labels.classes !== CTC_BYTE_CLASSES)
    throw new ConfigError(
      `CTC head ${head.to} <- ${head.from} has a label map of ${head.labels.classes} classes; only tokens or ${CTC_BYTE_CLASSES} UTF-8 bytes decode to text`,
    );
  return new TextDecoder().decode(Uint8Array.from(labels)).trim();
}

/** Per row of `inputs` (source ids with bos and eos): the head's log-probabilities [S_row, C + 1] and C. */
export function ctcLogProbs(
  zipper: Zipper,
  inputs: readonly (readonly number[])[],
  head?: CtcHeadSpec,
): { rows: Float64Array[]; classes: number } {
  const h = head ?? zipper.config.ctc[0];
  if (!h) throw new ConfigError('this zipped model has no CTC head (config.ctc); decode with generateZipped');
  const classes = ctcClasses(zipper.config, h);
  if (inputs.length === 0) return { rows: [], classes };
  const { ids, global, b, s } = sourceBatch(zipper, h, inputs);
  const lp = tf.tidy(() => {
    const out = zipper.run({ [h.from]: { length: s, ids, global } }, b, { logits: [], ctc: true });
    return tf.logSoftmax((out.ctc as Record<string, tf.Tensor3D>)[ctcHeadName(h)] as tf.Tensor3D); // [B, S, C + 1]
  });
  const all = lp.dataSync() as Float32Array;
  lp.dispose();
  const width = classes + 1;
  return { rows: inputs.map((row, r) => Float64Array.from(all.subarray(r * s * width, (r * s + row.length) * width))), classes };
}

/** Right-padded source ids of a head's `from` tower (global index = position; padding -1). */
export function sourceBatch(
  zipper: Zipper,
  h: CtcHeadSpec,
  inputs: readonly (readonly number[])[],
): { ids: Int32Array; global: Int32Array; b: number; s: number } {
  const from = towerSpec(zipper.config, h.from);
  const b = inputs.length;
  const s = Math.max(...inputs.map((r) => r.length));
  if (s === 0) throw new ShapeError('every row is empty; give the source ids with their bos and eos');
  const ids = new Int32Array(b * s).fill(from.eos);
  const global = new Int32Array(b * s).fill(-1);
  inputs.forEach((row, r) => {
    row.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= from.config.vocabSize)
        throw new ShapeError(`row ${r}, position ${i}: ${id} is not a token of tower "${h.from}" [0, ${from.config.vocabSize})`);
      ids[r * s + i] = id;
      global[r * s + i] = i;
    });
  });
  return { ids, global, b, s };
}
