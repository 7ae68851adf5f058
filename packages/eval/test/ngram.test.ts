import { Mulberry32 } from '@zipper/common';
import { describe, expect, it } from 'vitest';
import { EvalError, KneserNeyLM } from '../src/index.js';

/** Sequences from a second-order Markov source over V symbols (next depends on the two previous). */
function markov(count: number, v: number, seed: number): number[][] {
  const rng = new Mulberry32(seed);
  const out: number[][] = [];
  for (let s = 0; s < count; s++) {
    const len = 5 + Math.floor(rng.next() * 20);
    const seq = [Math.floor(rng.next() * v), Math.floor(rng.next() * v)];
    while (seq.length < len) {
      const a = seq[seq.length - 2]!;
      const b = seq[seq.length - 1]!;
      seq.push(rng.next() < 0.8 ? (3 * a + 5 * b + 1) % v : Math.floor(rng.next() * v));
    }
    out.push(seq);
  }
  return out;
}

describe('KneserNeyLM', () => {
  const V = 13;
  const train = markov(400, V, 1);
  const heldOut = markov(100, V, 2);

  it('is a distribution: p(. | h) sums to 1 over the vocabulary plus </s>, for seen and unseen contexts', () => {
    for (const order of [1, 2, 3, 4]) {
      const lm = new KneserNeyLM(train, { order, vocabSize: V });
      const rng = new Mulberry32(order);
      for (let k = 0; k < 30; k++) {
        const h = Array.from({ length: Math.floor(rng.next() * 5) }, () => Math.floor(rng.next() * V));
        let sum = 0;
        for (let w = 0; w <= V; w++) sum += lm.prob(h, w);
        expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
      }
    }
  });

  it('gains with order on a second-order source: trigram far below bigram and unigram, all below uniform', () => {
    const ce = [1, 2, 3].map((order) => new KneserNeyLM(train, { order, vocabSize: V }).crossEntropy(heldOut));
    expect(ce[0]!.targets).toBe(heldOut.reduce((s, q) => s + q.length + 1, 0));
    expect(ce[0]!.nats).toBeLessThan(Math.log(V + 1));
    // the next symbol depends on the two previous ones jointly: one previous symbol tells little
    expect(ce[1]!.nats).toBeLessThan(ce[0]!.nats + 0.02);
    expect(ce[2]!.nats).toBeLessThan(ce[1]!.nats - 1);
    // the source's own conditional entropy: 0.8 deterministic + 0.2 uniform over 13 symbols
    const p = 0.8 + 0.2 / V;
    const q = 0.2 / V;
    const sourceEntropy = -(p * Math.log(p) + (V - 1) * q * Math.log(q));
    expect(ce[2]!.nats).toBeGreaterThan(sourceEntropy - 0.05);
  });

  it('matches the closed form on a corpus small enough to count by hand', () => {
    // corpus "0 1" and "0 1": order 1, V = 2. Unigram counts are continuation counts:
    // a(0) = |{<s>}| = 1, a(1) = |{0}| = 1, a(</s>) = |{1}| = 1; n1 = 3 and n2..n4 = 0, so D = 0.75.
    const lm = new KneserNeyLM(
      [
        [0, 1],
        [0, 1],
      ],
      { order: 1, vocabSize: 2 },
    );
    const expected = (1 - 0.75) / 3 + ((0.75 * 3) / 3) * (1 / 3);
    expect(lm.prob([], 0)).toBeCloseTo(expected, 15);
    expect(lm.prob([], 2)).toBeCloseTo(expected, 15);
  });

  it('refuses ids outside the vocabulary with a typed error naming the sequence and position', () => {
    expect(
      () =>
        new KneserNeyLM(
          [
            [0, 1],
            [1, 13],
          ],
          { vocabSize: 13 },
        ),
    ).toThrow(EvalError);
    expect(
      () =>
        new KneserNeyLM(
          [
            [0, 1],
            [1, 13],
          ],
          { vocabSize: 13 },
        ),
    ).toThrow(/sequence 1, token 1: id 13/);
    expect(() => new KneserNeyLM([], { vocabSize: 0 })).toThrow(/vocabSize/);
  });
});
