/**
 * Joint CTC/attention beam search for speech -> text (docs/zipper.md, "Joint decoding"; the hybrid
 * decoding of Watanabe et al. 2017, ESPnet's `ctc_weight` at inference; not in the paper): beams
 * of text tokens scored by
 *   (1 - w) * log p_att(y) + w * log p_ctc(y),
 * p_att the zipped text tower (reading the speech through its cross-attention) and p_ctc the CTC
 * head's prefix probability of y's labels (a token stands for its label sequence, e.g. its bytes,
 * with `head.labels`). Each beam's CTC state is the forward variables of its label prefix over the
 * source positions (`CtcPrefixScorer`, host float64); candidates are each beam's `preBeam` most
 * likely tokens under the attention decoder; a beam ends at the text eos, where its CTC score is
 * the probability of the whole label sequence.
 *
 * Legend: S source positions of a row, C the head's classes (+1 blank, the last).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '@zipper/core';
import { logAdd } from '@zipper/core/ops';
import { towerSpec, type CtcHeadSpec } from './config.js';
import { ctcLogProbs } from './ctc-decode.js';
import { disposeZipperState, sliceZipperState, type StreamInput, type ZipperState } from './state.js';
import type { Zipper } from './zipper.js';

const NEG = -Infinity;

/** The forward variables of one label prefix: ending in a label (n) or a blank (b) at each position. */
export interface CtcPrefixState {
  readonly n: Float64Array;
  readonly b: Float64Array;
  /** The prefix's last label (-1: empty). */
  readonly last: number;
  /** log p(the prefix is a prefix of the labelling) (0 for the empty prefix). */
  readonly prefix: number;
}

/** CTC prefix scores over one row's log-probabilities `logp` [S, C + 1] (blank = C). */
export class CtcPrefixScorer {
  readonly frames: number;
  private readonly classes: number;

  constructor(
    private readonly logp: Float64Array,
    frames: number,
    classes: number,
  ) {
    if (logp.length !== frames * (classes + 1))
      throw new ShapeError(`CtcPrefixScorer: ${logp.length} log-probs for ${frames} x ${classes + 1}`);
    if (frames < 1) throw new ShapeError('CtcPrefixScorer: no source position');
    this.frames = frames;
    this.classes = classes;
  }

  /** The empty prefix. */
  initial(): CtcPrefixState {
    const n = new Float64Array(this.frames).fill(NEG);
    const b = new Float64Array(this.frames);
    let acc = 0;
    for (let t = 0; t < this.frames; t++) {
      acc += this.at(t, this.classes);
      b[t] = acc;
    }
    return { n, b, last: -1, prefix: 0 };
  }

  /** The prefix extended by `label`. */
  extend(g: CtcPrefixState, label: number): CtcPrefixState {
    if (!Number.isInteger(label) || label < 0 || label >= this.classes)
      throw new ShapeError(`CtcPrefixScorer: label ${label} is outside [0, ${this.classes})`);
    const T = this.frames;
    const blank = this.classes;
    const n = new Float64Array(T);
    const b = new Float64Array(T);
    n[0] = g.last === -1 ? this.at(0, label) : NEG;
    b[0] = NEG;
    let psi = n[0];
    for (let t = 1; t < T; t++) {
      const phi = logAdd(g.b[t - 1] as number, g.last === label ? NEG : (g.n[t - 1] as number));
      const y = this.at(t, label);
      n[t] = logAdd(n[t - 1] as number, phi) + y;
      b[t] = logAdd(b[t - 1] as number, n[t - 1] as number) + this.at(t, blank);
      psi = logAdd(psi, phi + y);
    }
    return { n, b, last: label, prefix: psi };
  }

  /** log p(the labelling is exactly the prefix). */
  final(g: CtcPrefixState): number {
    return logAdd(g.n[this.frames - 1] as number, g.b[this.frames - 1] as number);
  }

  private at(t: number, k: number): number {
    return this.logp[t * (this.classes + 1) + k] as number;
  }
}

export interface JointDecodeOptions {
  /** Beams kept per step (default 4). */
  readonly beam?: number;
  /** Candidate tokens per beam, by the attention decoder (default 2 * beam). */
  readonly preBeam?: number;
  /** w in (1 - w) * att + w * ctc (default 0.3, ESPnet's), in [0, 1]. */
  readonly ctcWeight?: number;
  /** At most this many text tokens per row (default: the text tower's maxSeqLen - 2). */
  readonly maxNewTokens?: number;
}

export interface JointDecodeResult {
  /** The best hypothesis's tokens (no bos, no eos). */
  readonly ids: number[];
  readonly score: number;
  readonly finishReason: 'stop' | 'length';
}

interface Beam {
  readonly ids: number[];
  readonly att: number;
  readonly ctc: CtcPrefixState;
  readonly score: number;
  /** Its row in the decoder state. */
  readonly row: number;
}

/**
 * Joint CTC/attention beam search, one row of `inputs` (source ids with bos and eos) at a time; the
 * beams of a row decode as one batch. The head's `to` tower is the output.
 */
export function ctcAttentionBeam(
  zipper: Zipper,
  inputs: readonly (readonly number[])[],
  options: JointDecodeOptions = {},
  head?: CtcHeadSpec,
): JointDecodeResult[] {
  const h = head ?? zipper.config.ctc[0];
  if (!h) throw new ConfigError('joint decoding needs a CTC head (config.ctc)');
  const beam = options.beam ?? 4;
  const preBeam = options.preBeam ?? 2 * beam;
  const w = options.ctcWeight ?? 0.3;
  if (!Number.isInteger(beam) || beam < 1) throw new ConfigError(`beam must be an integer >= 1, got ${beam}`);
  if (!Number.isInteger(preBeam) || preBeam < 1) throw new ConfigError(`preBeam must be an integer >= 1, got ${preBeam}`);
  if (!(w >= 0 && w <= 1)) throw new ConfigError(`ctcWeight must be in [0, 1], got ${w}`);
  const to = towerSpec(zipper.config, h.to);
  const maxNew = options.maxNewTokens ?? to.config.maxSeqLen - 2;
  const labelsOf = (tok: number): readonly number[] => (h.labels ? (h.labels.map[tok] as readonly number[]) : [tok]);
  const { rows, classes } = ctcLogProbs(zipper, inputs, h);
  return inputs.map((src, r) => {
    const scorer = new CtcPrefixScorer(rows[r] as Float64Array, src.length, classes);
    return decodeRow(zipper, h.from, h.to, src, scorer, { beam, preBeam, w, maxNew, labelsOf, bos: to.bos, eos: to.eos });
  });
}

function decodeRow(
  zipper: Zipper,
  from: string,
  to: string,
  src: readonly number[],
  scorer: CtcPrefixScorer,
  o: { beam: number; preBeam: number; w: number; maxNew: number; labelsOf: (t: number) => readonly number[]; bos: number; eos: number },
): JointDecodeResult {
  const S = src.length;
  const V = towerSpec(zipper.config, to).config.vocabSize;
  // a weight of 0 drops its term (0 * -Infinity would be NaN: a prefix longer than the source can align has CTC -Infinity)
  const mix = (att: number, ctc: number) => (o.w < 1 ? (1 - o.w) * att : 0) + (o.w > 0 ? o.w * ctc : 0);
  const first = zipper.run(
    {
      [from]: { length: S, ids: Int32Array.from(src), global: Int32Array.from({ length: S }, (_, i) => i) },
      [to]: { length: 1, ids: Int32Array.of(o.bos), global: Int32Array.of(S) },
    },
    1,
    { keepState: true, logits: [to], lastOnly: true, futureReaders: [to] },
  );
  let state = first.state as ZipperState;
  let logp = logSoftmaxHost(first.logits[to] as tf.Tensor3D, V);
  let beams: Beam[] = [{ ids: [], att: 0, ctc: scorer.initial(), score: 0, row: 0 }];
  const finished: { ids: number[]; score: number }[] = [];
  try {
    for (let step = 0; step < o.maxNew && beams.length > 0; step++) {
      const cands: (Beam & { end: boolean })[] = [];
      beams.forEach((bm, j) => {
        const row = logp.subarray(j * V, (j + 1) * V);
        for (const tok of topK(row, o.preBeam, o.bos)) {
          const att = bm.att + (row[tok] as number);
          if (tok === o.eos) {
            cands.push({ ...bm, att, score: mix(att, scorer.final(bm.ctc)), end: true });
            continue;
          }
          const labels = o.labelsOf(tok);
          if (labels.length === 0) continue; // a special token other than eos spells nothing
          let c = bm.ctc;
          for (const l of labels) c = scorer.extend(c, l);
          cands.push({ ids: [...bm.ids, tok], att, ctc: c, score: mix(att, c.prefix), row: j, end: false });
        }
      });
      cands.sort((a, b) => b.score - a.score);
      const next: Beam[] = [];
      for (const c of cands.slice(0, o.beam)) {
        if (c.end) finished.push({ ids: c.ids, score: c.score });
        else next.push(c);
      }
      const bestFinished = finished.reduce((m, f) => Math.max(m, f.score), NEG);
      // scores only fall as a beam grows, so a finished beam better than every live one is final
      beams = next.filter((b) => b.score > bestFinished);
      if (beams.length === 0) break;
      const parents = beams.map((b) => b.row);
      const picked = sliceZipperState(state, parents);
      disposeZipperState(state);
      const g = S + 1 + step;
      const input: StreamInput = {
        length: 1,
        ids: Int32Array.from(beams.map((b) => b.ids[b.ids.length - 1] as number)),
        global: new Int32Array(beams.length).fill(g),
      };
      const out = zipper.run({ [to]: input }, beams.length, { state: picked, keepState: true, logits: [to], futureReaders: [to] });
      disposeZipperState(picked);
      state = out.state as ZipperState;
      logp = logSoftmaxHost(out.logits[to] as tf.Tensor3D, V);
      beams = beams.map((b, j) => ({ ...b, row: j }));
    }
  } finally {
    disposeZipperState(state);
  }
  const best = finished.sort((a, b) => b.score - a.score)[0];
  if (best) return { ids: best.ids, score: best.score, finishReason: 'stop' };
  const live = beams.sort((a, b) => b.score - a.score)[0];
  return { ids: live ? live.ids : [], score: live ? live.score : NEG, finishReason: 'length' };
}

/** logits [B, 1, V] (disposed) -> log-softmax on the host, [B * V]. */
function logSoftmaxHost(logits: tf.Tensor3D, v: number): Float64Array {
  const x = logits.dataSync() as Float32Array;
  logits.dispose();
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / v; r++) {
    let m = NEG;
    for (let i = 0; i < v; i++) m = Math.max(m, x[r * v + i] as number);
    let s = 0;
    for (let i = 0; i < v; i++) s += Math.exp((x[r * v + i] as number) - m);
    const lse = m + Math.log(s);
    for (let i = 0; i < v; i++) out[r * v + i] = (x[r * v + i] as number) - lse;
  }
  return out;
}

/** The k largest entries' indices, best first (ties: lower index first), skipping `skip`: one pass, O(V k). */
function topK(row: Float64Array, k: number, skip: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < row.length; i++) {
    if (i === skip) continue;
    const v = row[i] as number;
    if (best.length === k && v <= (row[best[k - 1] as number] as number)) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && v > (row[best[j - 1] as number] as number)) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}
