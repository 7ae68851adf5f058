/**
 * Teacher-forced log-probabilities of examples' target segments: per example, the sum over its
 * target positions (layoutBatch's `mask`) of ln p(next token | everything before it), the
 * cross-attention reading the earlier segments of the other towers. With an ASR example
 * `[speech][text (target)]` it is ln p_att(text | speech): the zipped text tower's score of a
 * transcript, which n-best rescoring adds to a first pass's (ctc-transcribe.ts, `rescore`).
 *
 *   const lp = targetLogProbs(zipper, hyps.map((h) => [speechSegment, wrapSegment(config, 'text', ids(h), { target: true })]));
 *   const same = targetLogProbsAfter(zipper, [speechSegment], hyps.map((h) => wrapSegment(config, 'text', ids(h))));
 *
 * `targetLogProbsAfter` scores several targets after one shared context (n-best rescoring: one
 * utterance, n transcripts): the context runs once, its state (KV caches) is replicated per
 * target, and only the targets' positions run again.
 *
 * Legend: B examples, T a stream's longest row, V its vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SegmentError } from './errors.js';
import { layoutBatch, type Example, type Segment } from './segments.js';
import { disposeZipperState, sliceZipperState, type StreamInput, type ZipperState } from './state.js';
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
    for (const n of names) sum = tf.add(sum, maskedLogProbs(logits[n] as tf.Tensor3D, batch.streams[n]!.targets, batch.streams[n]!.mask));
    return sum;
  });
  const out = Float64Array.from(total.dataSync());
  total.dispose();
  return out;
}

/**
 * Per example, ln p of each of its target tokens, in stream order (towers in the config's order):
 * the terms `targetLogProbs` sums, e.g. to see where in a segment the input helps (`zipper fuse
 * probe --bins`). Segments are checked as by layoutBatch.
 */
export function targetTokenLogProbs(zipper: Zipper, examples: readonly Example[]): Float32Array[] {
  const batch = layoutBatch(zipper.config, examples);
  const B = batch.batchSize;
  const rows: number[][] = Array.from({ length: B }, () => []);
  const names = Object.keys(batch.streams).filter((n) => batch.streams[n]!.mask.some((m) => m !== 0));
  if (names.length > 0) {
    const logits = zipper.forward(batch, { logits: names });
    try {
      for (const n of names) {
        const s = batch.streams[n]!;
        const picked = tf.tidy(() => pickedLogProbs(logits[n] as tf.Tensor3D, s.targets));
        const v = picked.dataSync();
        picked.dispose();
        for (let b = 0; b < B; b++)
          for (let t = 0; t < s.length; t++) if (s.mask[b * s.length + t] !== 0) rows[b]!.push(v[b * s.length + t] as number);
      }
    } finally {
      tf.dispose(Object.values(logits));
    }
  }
  return rows.map((r) => Float32Array.from(r));
}

/** Per position of logits x [B, T, V], ln softmax(x)[targets] (targets [B, T] row-major) -> [B, T]. */
function pickedLogProbs(x: tf.Tensor3D, targets: Int32Array): tf.Tensor2D {
  const shape: [number, number] = [x.shape[0], x.shape[1]];
  return tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(tf.tensor2d(targets, shape, 'int32'), x.shape[2])), -1) as tf.Tensor2D;
}

/** Per row of logits x [B, T, V], the sum of ln softmax(x)[targets] where `mask` is 1 (targets, mask: [B, T] row-major). */
function maskedLogProbs(x: tf.Tensor3D, targets: Int32Array, mask: Float32Array): tf.Tensor1D {
  return tf.sum(tf.mul(pickedLogProbs(x, targets), tf.tensor2d(mask, [x.shape[0], x.shape[1]], 'float32')), 1);
}

/** The last `a.length / B - from` entries of each of the B rows of `a` (row-major), as one array. */
function rowTails<A extends Int32Array | Float32Array>(a: A, B: number, from: number): A {
  const len = a.length / B;
  const out = a.slice(0, B * (len - from)) as A;
  for (let b = 0; b < B; b++) out.set(a.subarray(b * len + from, (b + 1) * len), b * (len - from));
  return out;
}

/**
 * Per target segment (one tower's ids, bos and eos included), ln p of its tokens after `context`:
 * targetLogProbs of the examples `[...context, target]`, with the context run once. Segments
 * are checked as by layoutBatch; the context must not be empty.
 */
export function targetLogProbsAfter(zipper: Zipper, context: readonly Segment[], targets: readonly Segment[]): Float64Array {
  if (context.length === 0) throw new SegmentError('targetLogProbsAfter needs a context segment; use targetLogProbs');
  if (targets.length === 0) return new Float64Array(0);
  const to = targets[0]!.tower;
  if (targets.some((t) => t.tower !== to))
    throw new SegmentError(
      `targetLogProbsAfter scores targets of one tower, got ${[...new Set(targets.map((t) => t.tower))].join(' and ')}`,
    );
  const plain = context.map((s) => ({ tower: s.tower, ids: s.ids }));
  const batch = layoutBatch(
    zipper.config,
    targets.map((t) => [...plain, { tower: t.tower, ids: t.ids, target: true }]),
  );
  const B = batch.batchSize;
  // the context's positions per tower: the first `n` of every row's stream, the same in each row
  const ctx = new Map<string, number>();
  for (const s of plain) ctx.set(s.tower, (ctx.get(s.tower) ?? 0) + s.ids.length);
  const first: Record<string, StreamInput> = {};
  for (const [name, n] of ctx) {
    const s = batch.streams[name]!;
    first[name] = { length: n, ids: s.ids.slice(0, n), global: s.global.slice(0, n) };
  }
  const once = zipper.run(first, 1, { keepState: true, logits: [], futureReaders: [to] });
  const shared = once.state as ZipperState;
  let picked: ZipperState | undefined;
  try {
    picked = sliceZipperState(shared, new Array<number>(B).fill(0));
    const s = batch.streams[to]!;
    const n0 = ctx.get(to) ?? 0; // the target tower's context positions, already in the state
    const input = { length: s.length - n0, ids: rowTails(s.ids, B, n0), global: rowTails(s.global, B, n0) };
    const out = zipper.run({ [to]: input }, B, { state: picked, logits: [to] });
    const total = tf.tidy(() => maskedLogProbs(out.logits[to] as tf.Tensor3D, rowTails(s.targets, B, n0), rowTails(s.mask, B, n0)));
    for (const t of Object.values(out.logits)) t.dispose();
    const r = Float64Array.from(total.dataSync());
    total.dispose();
    return r;
  } finally {
    disposeZipperState(shared);
    if (picked) disposeZipperState(picked);
  }
}
