/**
 * Joint CTC/attention decoding (ctc-joint.ts): the CTC prefix scorer equals an enumeration of every
 * alignment (the prefix probability and the exact-labelling probability of several label
 * prefixes, 5 positions x 3 labels + blank); with ctcWeight 0 and one beam the search is the
 * attention decoder's greedy output (generateZipped); with ctcWeight 1 a trained head's labelling
 * wins over the attention decoder; bad options are typed errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ctcAttentionBeam, ctcGreedy, CtcPrefixScorer, generateZipped, Zipper } from '../src/index.js';
import { PAIRS, pairsTrainer, perturbFusion, SCHEDULE, setGates, setup, towers } from './helpers.js';

beforeAll(setup);

/** Every alignment of T positions over C labels + blank (C): its collapsed labelling and its log-probability. */
function paths(logp: Float64Array, T: number, C: number): { labels: number[]; lp: number }[] {
  const out: { labels: number[]; lp: number }[] = [];
  const n = (C + 1) ** T;
  for (let code = 0; code < n; code++) {
    let x = code;
    let lp = 0;
    const labels: number[] = [];
    let prev = -1;
    for (let t = 0; t < T; t++) {
      const k = x % (C + 1);
      x = Math.floor(x / (C + 1));
      lp += logp[t * (C + 1) + k]!;
      if (k !== C && k !== prev) labels.push(k);
      prev = k;
    }
    out.push({ labels, lp });
  }
  return out;
}

const logSum = (xs: number[]) => {
  const m = Math.max(...xs);
  return m === -Infinity ? m : m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

describe('joint CTC/attention decoding', () => {
  it('the prefix scorer equals an enumeration of every alignment', () => {
    const [T, C] = [5, 3];
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
    const logp = new Float64Array(T * (C + 1));
    for (let t = 0; t < T; t++) {
      const e = Array.from({ length: C + 1 }, () => Math.exp(2 * rnd()));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, k) => (logp[t * (C + 1) + k] = Math.log(v / z)));
    }
    const all = paths(logp, T, C);
    const scorer = new CtcPrefixScorer(logp, T, C);
    for (const prefix of [[], [0], [1, 1], [2, 0, 1], [0, 1, 0], [1, 2, 2, 0]]) {
      let s = scorer.initial();
      for (const l of prefix) s = scorer.extend(s, l);
      const starts = all.filter((p) => prefix.every((l, i) => p.labels[i] === l)).map((p) => p.lp);
      const exact = all.filter((p) => p.labels.length === prefix.length && prefix.every((l, i) => p.labels[i] === l)).map((p) => p.lp);
      if (prefix.length > 0) expect(s.prefix).toBeCloseTo(logSum(starts), 10);
      expect(scorer.final(s)).toBeCloseTo(logSum(exact), 10);
    }
    expect(() => scorer.extend(scorer.initial(), 3)).toThrow(/outside \[0, 3\)/);
  });

  it('with ctcWeight 0 and one beam it is the attention decoder greedy output', async () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [{ from: 'speech', to: 'text' }] }, { seed: 4 });
    perturbFusion(z, 6);
    setGates(z, 0.7);
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const joint = ctcAttentionBeam(z, rows, { beam: 1, ctcWeight: 0, maxNewTokens: 6 });
    const greedy = await generateZipped(
      z,
      rows.map((ids) => [{ tower: 'speech', ids }]),
      { output: ['text'], maxNewTokens: 6 },
    );
    expect(joint.map((r) => r.ids)).toEqual(greedy.rows.map((r) => r[0]!.ids));
    expect(joint.map((r) => r.finishReason)).toEqual(greedy.rows.map((r) => r[0]!.finishReason));
    expect(() => ctcAttentionBeam(z, rows, { ctcWeight: 1.5 })).toThrow(ConfigError);
    expect(() => ctcAttentionBeam(z, rows, { beam: 0 })).toThrow(ConfigError);
    const plain = Zipper.create(towers(), SCHEDULE, { seed: 4 });
    expect(() => ctcAttentionBeam(plain, rows)).toThrow(/needs a CTC head/);
    plain.dispose();
    z.dispose();
  });

  it('with ctcWeight 1 a trained head decides: the result spells the head greedy labelling when it is a token sequence', async () => {
    const z = Zipper.create(towers(), { ...SCHEDULE, ctc: [{ from: 'speech', to: 'text' }], freeze: ['text', 'speech'] }, { seed: 2 });
    const t = pairsTrainer(z, { ctcWeight: 1 });
    await t.train(80);
    t.dispose();
    const rows = PAIRS.map((p) => [9, ...p.speech!, 10]);
    const greedy = ctcGreedy(z, rows);
    const before = tf.memory().numTensors;
    const joint = ctcAttentionBeam(z, rows, { beam: 8, preBeam: 12, ctcWeight: 1, maxNewTokens: 8 });
    expect(tf.memory().numTensors).toBe(before);
    // the labels are the text tokens themselves here; the beam finds a labelling at least as likely
    // as the greedy path's under the head, and with a peaked head it is the greedy one
    let same = 0;
    joint.forEach((r, i) => {
      if (JSON.stringify(r.ids) === JSON.stringify(greedy[i]!.filter((k) => k !== 11 && k !== 12))) same++;
    });
    console.log(
      `joint ctcWeight 1: ${same} of ${rows.length} rows equal the head's greedy labelling`,
      joint.map((r) => r.ids),
      greedy,
    );
    expect(same).toBeGreaterThanOrEqual(3);
    z.dispose();
  });
});
