/**
 * Teacher-forced target log-probabilities (target-log-probs.ts) and the n-best rescoring of the
 * lexicon search with them (ctc-transcribe.ts, the search's `rescoreWeight`): the scores equal a
 * float64 log-softmax of each example's own logits, whatever the batch; rescoring with a vanishing
 * weight keeps the search's ranking; with a large weight it picks the n-best hypothesis the zipped
 * decoder likes most; a head carrying the rescoring rescores where the caller gives nothing, and
 * rescoreWeight 0 turns it off; bad options are typed errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, TokenRangeError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ByteLexicon,
  ctcLexiconBeam,
  ctcLogProbs,
  ctcTranscripts,
  layoutBatch,
  SegmentError,
  targetLogProbs,
  targetLogProbsAfter,
  targetTokenLogProbs,
  wrapSegment,
  Zipper,
  type Example,
  type Segment,
} from '../src/index.js';
import { PAIRS, perturbFusion, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);

/** Σ_k ln softmax(logits of the target segment's position k)[its next id], in float64, from the example's own forward. */
function reference(z: Zipper, ex: Example): number {
  const target = ex.find((s) => s.target)!;
  const x = z.forward(layoutBatch(z.config, [ex]), { logits: [target.tower] })[target.tower]!;
  const V = x.shape[2];
  const data = x.dataSync();
  x.dispose();
  // the target's first position in its tower's stream: after that tower's earlier segments
  let start = 0;
  for (const s of ex.slice(0, ex.indexOf(target))) if (s.tower === target.tower) start += s.ids.length;
  let sum = 0;
  for (let k = 0; k + 1 < target.ids.length; k++) {
    const row = Array.from(data.subarray((start + k) * V, (start + k + 1) * V), Number);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    sum += row[target.ids[k + 1]!]! - lse;
  }
  return sum;
}

describe('targetLogProbs', () => {
  it('equals a float64 log-softmax of each example alone, in a ragged batch of ASR and TTS examples', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2 });
    perturbFusion(z, 9);
    const examples: Example[] = PAIRS.flatMap((p) => [
      [wrapSegment(z.config, 'speech', p.speech!), wrapSegment(z.config, 'text', p.text!, { target: true })],
      [wrapSegment(z.config, 'text', p.text!), wrapSegment(z.config, 'speech', p.speech!, { target: true })],
    ]);
    const got = targetLogProbs(z, examples);
    expect(got.length).toBe(8);
    examples.forEach((ex, i) => {
      const want = reference(z, ex);
      expect(want).toBeLessThan(0);
      expect(Math.abs(got[i]! - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
      expect(Math.abs(targetLogProbs(z, [ex])[0]! - got[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    });
    // no target segment: 0
    expect(Array.from(targetLogProbs(z, [[wrapSegment(z.config, 'text', [1, 2])]]))).toEqual([0]);
    z.dispose();
  });

  it('targetTokenLogProbs: per target token, in order; the first equals the float64 reference of a one-token target, the sums targetLogProbs', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2 });
    perturbFusion(z, 9);
    const examples: Example[] = PAIRS.flatMap((p) => [
      [wrapSegment(z.config, 'speech', p.speech!), wrapSegment(z.config, 'text', p.text!, { target: true })],
      [wrapSegment(z.config, 'text', p.text!), wrapSegment(z.config, 'speech', p.speech!, { target: true })],
    ]);
    const before = tf.memory().numTensors;
    const each = targetTokenLogProbs(z, examples);
    expect(tf.memory().numTensors).toBe(before);
    const sums = targetLogProbs(z, examples);
    examples.forEach((ex, i) => {
      const target = ex.find((s) => s.target)!;
      expect(each[i]!.length).toBe(target.ids.length - 1); // every token after the bos, eos included
      const sum = each[i]!.reduce((a, v) => a + v, 0);
      expect(Math.abs(sum - sums[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(sum)));
      // position k: the same target cut after its token k + 1 scores positions 0..k alike (causal)
      for (const k of [0, target.ids.length - 2]) {
        const cut: Example = ex.map((s) => (s === target ? { ...s, ids: s.ids.slice(0, k + 2) } : s));
        const want =
          reference(z, cut) -
          (k > 0
            ? reference(
                z,
                ex.map((s) => (s === target ? { ...s, ids: s.ids.slice(0, k + 1) } : s)),
              )
            : 0);
        expect(Math.abs(each[i]![k]! - want), `example ${i} token ${k}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
      }
    });
    expect(targetTokenLogProbs(z, [[wrapSegment(z.config, 'text', [1, 2])]]).map((r) => r.length)).toEqual([0]);
    z.dispose();
  });

  it('targetLogProbsAfter (the context run once) equals targetLogProbs of each [context, target], without leaking tensors', () => {
    const z = Zipper.create(towers(), SCHEDULE, { seed: 2 });
    perturbFusion(z, 9);
    const contexts: Segment[][] = [
      [wrapSegment(z.config, 'speech', PAIRS[0]!.speech!)], // ASR: n transcripts of one utterance
      [wrapSegment(z.config, 'text', PAIRS[1]!.text!)], // TTS
      [wrapSegment(z.config, 'text', PAIRS[2]!.text!), wrapSegment(z.config, 'speech', PAIRS[2]!.speech!)], // a third segment
    ];
    const targetsOf = (tower: string): Segment[] => PAIRS.map((p) => wrapSegment(z.config, tower, tower === 'text' ? p.text! : p.speech!)); // ragged lengths
    const before = tf.memory().numTensors;
    for (const ctx of contexts) {
      const tower = ctx.at(-1)!.tower === 'speech' ? 'text' : 'speech';
      const targets = targetsOf(tower);
      const got = targetLogProbsAfter(z, ctx, targets);
      const want = targetLogProbs(
        z,
        targets.map((t) => [...ctx, { ...t, target: true }]),
      );
      expect(got.length).toBe(targets.length);
      got.forEach((g, i) => expect(Math.abs(g - want[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]!))));
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(targetLogProbsAfter(z, contexts[0]!, []).length).toBe(0);
    expect(() => targetLogProbsAfter(z, [], targetsOf('text'))).toThrow(SegmentError);
    expect(() => targetLogProbsAfter(z, contexts[0]!, [...targetsOf('text'), ...targetsOf('speech')])).toThrow(/one tower/);
    expect(() => targetLogProbsAfter(z, contexts[0]!, [wrapSegment(z.config, 'text', [99])])).toThrow(TokenRangeError);
    z.dispose();
  });
});

describe('ctcTranscripts rescore', () => {
  // a byte head over the tiny text tower: token t spells the letter "a" + t
  const map = Array.from({ length: 13 }, (_, t) => (t < 11 ? [97 + t] : []));
  const head = { from: 'speech', to: 'text', labels: { classes: 256, map } };
  const words = ['a', 'b', 'ab', 'ba', 'cab', 'c', 'bc'];
  const lexicon = ByteLexicon.of({
    words,
    boundary: words.length,
    logProb: () => Math.log(1 / 8),
    unigramLogProb: () => Math.log(1 / 8),
  });
  // the text tower's "tokenizer" of those words: a letter is a token, the space token 10 ("k")
  const encode = (text: string) => [...text].map((c) => (c === ' ' ? 10 : c.charCodeAt(0) - 97));
  const search = { labelThreshold: -1e9, beam: 16 };

  it('a vanishing weight keeps the search; a large weight picks the n-best hypothesis the zipped decoder scores highest', () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [head] }, { seed: 2 });
    perturbFusion(z, 9);
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const plain = ctcTranscripts(z, rows, () => '', { lexicon, search });
    expect(plain.every((t) => t.candidates === undefined)).toBe(true);
    // weight 0: no second pass at all
    expect(ctcTranscripts(z, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 0, nBest: 6 } })).toEqual(plain);
    const tiny = ctcTranscripts(z, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 1e-12 } });
    expect(tiny.map(({ text, count, unknown, dictionary }) => ({ text, count, unknown, dictionary }))).toEqual(plain);
    // the candidates: the search's n best (8 by default with a rescore weight), distinct, its transcript first
    tiny.forEach((t, i) => {
      expect(t.candidates![0]).toBe(plain[i]!.text);
      expect(t.candidates!.length).toBeGreaterThan(1);
      expect(t.candidates!.length).toBeLessThanOrEqual(8);
      expect(new Set(t.candidates).size).toBe(t.candidates!.length);
    });
    const big = ctcTranscripts(z, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 1e6, nBest: 6 } });
    const { rows: lp, classes } = ctcLogProbs(z, rows);
    let changed = 0;
    rows.forEach((row, i) => {
      const hyps = ctcLexiconBeam(lp[i]!, classes, lexicon, { ...search, nBest: 6 });
      expect(hyps.length).toBeGreaterThan(1);
      const att = targetLogProbs(
        z,
        hyps.map((h) => [{ tower: 'speech', ids: row }, wrapSegment(z.config, 'text', encode(h.text), { target: true })]),
      );
      const best = hyps[att.indexOf(Math.max(...att))]!;
      expect(big[i]).toEqual({ text: best.text, count: best.words.length, candidates: hyps.map((h) => h.text), unknown: 0, dictionary: 0 });
      if (best.text !== plain[i]!.text) changed++;
    });
    // the rescoring is not a no-op on these rows
    expect(changed).toBeGreaterThan(0);
    z.dispose();
  });

  it('a head carrying the rescoring rescores by default; the caller overrides it, rescoreWeight 0 turns it off', () => {
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const make = (carried?: { rescoreWeight: number; nBest: number }) => {
      const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [carried ? { ...head, search: carried } : head] }, { seed: 2 });
      perturbFusion(z, 9);
      return z;
    };
    const plain = make();
    const carrying = make({ rescoreWeight: 1e6, nBest: 6 });
    const given = ctcTranscripts(plain, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 1e6, nBest: 6 } });
    const searched = ctcTranscripts(plain, rows, () => '', { lexicon, search });
    expect(given.map((t) => t.text)).not.toEqual(searched.map((t) => t.text));
    expect(ctcTranscripts(carrying, rows, () => '', { lexicon, encode, search })).toEqual(given);
    expect(ctcTranscripts(carrying, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 0 } })).toEqual(searched);
    // a setting given wins key by key: the carried weight over 3 hypotheses
    expect(ctcTranscripts(carrying, rows, () => '', { lexicon, encode, search: { ...search, nBest: 3 } })).toEqual(
      ctcTranscripts(plain, rows, () => '', { lexicon, encode, search: { ...search, rescoreWeight: 1e6, nBest: 3 } }),
    );
    // greedy decoding ignores the carried rescoring; the search cannot rescore without the tokenizer
    expect(ctcTranscripts(carrying, rows, () => '')).toEqual(ctcTranscripts(plain, rows, () => ''));
    expect(() => ctcTranscripts(carrying, rows, () => '', { lexicon, search })).toThrow(
      /the search rescores \(rescoreWeight 1000000, carried by the model's head\): give encode/,
    );
    plain.dispose();
    carrying.dispose();
  });

  it('bad options are ConfigErrors', () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [head] }, { seed: 2 });
    const rows = [[9, ...PAIRS[0]!.speech!, 10]];
    const bad = (o: object) => () => ctcTranscripts(z, rows, () => '', { lexicon, encode, search: { ...search, ...o } });
    expect(bad({ rescoreWeight: -1 })).toThrow(/rescoreWeight must be >= 0/);
    expect(bad({ rescoreWeight: Infinity })).toThrow(ConfigError);
    expect(bad({ rescoreWeight: 1, nBest: 0 })).toThrow(ConfigError);
    expect(bad({ rescoreWeight: 1, nBest: 17 })).toThrow(/nBest must be an integer in \[1, beam = 16\]/);
    expect(() => ctcTranscripts(z, rows, () => '', { encode, search: { rescoreWeight: 1 } })).toThrow(/rescoreWeight needs a lexicon/);
    z.dispose();
  });
});
