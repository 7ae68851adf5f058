// A two-stream toy model for the multi-stream loss tests, in plain JS so that data-parallel
// workers can load it with Node directly (replica { kind: 'module', export: 'createTwoStream' }).
// Two bigram "towers" (text: vocabulary 13, speech: 11) and one fused link: every speech
// position adds gate * (mean of its row's text embeddings), so both streams reach shared
// weights. Keys are module paths (towers.text.*, towers.speech.*, cross.speech_from_text.*).
// A batch is { text: Batch, speech: Batch } with the same rows (B) and different lengths.
// The factory returns { params, loss, countTargets, countTokens }: a LossSpec plus its weights.
import * as tf from '@tensorflow/tfjs-core';

export const TEXT_VOCAB = 13;
export const SPEECH_VOCAB = 11;

function variable(shape, phase) {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(1.7 * i + phase));
  const init = tf.tensor(v, shape, 'float32');
  const out = tf.variable(init, true);
  init.dispose();
  return out;
}

const maskSum = (b) => b.mask.reduce((s, x) => s + x, 0);

/** Targets of each stream (mask-1 entries). */
export function countPair(batch) {
  return { text: maskSum(batch.text), speech: maskSum(batch.speech) };
}

/** Rows of both streams split into at most `parts` contiguous shards (larger first). */
export function splitPair(batch, parts) {
  const B = batch.text.batchSize;
  const n = Math.max(1, Math.min(parts, B));
  const rows = (b, r0, r1) => ({
    batchSize: r1 - r0,
    seqLen: b.seqLen,
    inputs: b.inputs.slice(r0 * b.seqLen, r1 * b.seqLen),
    targets: b.targets.slice(r0 * b.seqLen, r1 * b.seqLen),
    mask: b.mask.slice(r0 * b.seqLen, r1 * b.seqLen),
  });
  const out = [];
  let r = 0;
  for (let i = 0; i < n; i++) {
    const k = Math.floor(B / n) + (i < B % n ? 1 : 0);
    out.push({ text: rows(batch.text, r, r + k), speech: rows(batch.speech, r, r + k) });
    r += k;
  }
  return out;
}

export function createTwoStream(args = {}) {
  const { width = 6, weights } = args;
  const params = new Map([
    ['towers.text.emb.weight', variable([TEXT_VOCAB, width], 0.1)],
    ['towers.text.out.weight', variable([width, TEXT_VOCAB], 0.7)],
    ['towers.speech.emb.weight', variable([SPEECH_VOCAB, width], 1.3)],
    ['towers.speech.out.weight', variable([width, SPEECH_VOCAB], 1.9)],
    ['cross.speech_from_text.gate', variable([width], 2.5)],
  ]);
  const p = (k) => params.get(k);
  const embed = (b, table) => {
    const ids = tf.tensor1d(b.inputs, 'int32');
    return tf.reshape(tf.gather(table, ids), [b.batchSize, b.seqLen, width]); // [B, T, W]
  };
  const head = (x, w, b) => tf.reshape(tf.matMul(tf.reshape(x, [-1, width]), w), [b.batchSize, b.seqLen, -1]); // [B, T, V]
  const stream = (b, logits) => ({
    logits,
    targets: tf.tensor2d(b.targets, [b.batchSize, b.seqLen], 'int32'),
    mask: tf.tensor2d(b.mask, [b.batchSize, b.seqLen], 'float32'),
  });
  return {
    params,
    ...(weights ? { weights } : {}),
    loss(batch) {
      const xt = embed(batch.text, p('towers.text.emb.weight')); // [B, Tt, W]
      const ctx = tf.mul(tf.mean(xt, 1, true), p('cross.speech_from_text.gate')); // [B, 1, W]
      const xs = tf.add(embed(batch.speech, p('towers.speech.emb.weight')), ctx); // [B, Ts, W]
      return {
        streams: {
          text: stream(batch.text, head(xt, p('towers.text.out.weight'), batch.text)),
          speech: stream(batch.speech, head(xs, p('towers.speech.out.weight'), batch.speech)),
        },
      };
    },
    countTargets: countPair,
    countTokens: (batch) => batch.text.batchSize * (batch.text.seqLen + batch.speech.seqLen),
    dispose() {
      for (const v of params.values()) v.dispose();
    },
  };
}
