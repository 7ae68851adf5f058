/**
 * WordLm: interpolated absolute discounting by hand on a tiny corpus; every context's distribution
 * sums to 1 when nothing is pruned (and to less when rare words leave the lexicon); the file round
 * trip keeps every probability bit for bit and the bytes are deterministic; bad input is typed.
 */
import { ConfigError, SafetensorsError, encodeSafetensors } from '@zipper/core';
import { describe, expect, it } from 'vitest';
import { WordLm } from '../src/index.js';

const CORPUS = ['a b', 'a c', 'b', 'a b b', '  ', 'c a'];

describe('WordLm', () => {
  const lm = WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, discount: 0.5 });

  it('equals interpolated absolute discounting computed by hand', () => {
    // tokens a 4, b 4, c 2; 5 sentences -> N = 15 with the ends
    expect(lm.info).toEqual({ config: { minCount: 1, minBigramCount: 1, discount: 0.5 }, sentences: 5, tokens: 10 });
    expect(lm.words).toEqual(['a', 'b', 'c']);
    const [a, b, c] = [0, 1, 2];
    const end = lm.boundary;
    expect(lm.unigramLogProb(a)).toBeCloseTo(Math.log(4 / 15), 6);
    expect(lm.unigramLogProb(end)).toBeCloseTo(Math.log(5 / 15), 6);
    // <s> is followed by a 3, b 1, c 1: c(<s>) = 5, n(<s>) = 3
    expect(lm.logProb(end, a)).toBeCloseTo(Math.log((3 - 0.5) / 5 + ((0.5 * 3) / 5) * (4 / 15)), 6);
    // b is followed by </s> 3, b 1: c(b) = 4, n(b) = 2; b -> c never seen: the backed-off unigram
    expect(lm.logProb(b, c)).toBeCloseTo(Math.log(((0.5 * 2) / 4) * (2 / 15)), 6);
    expect(lm.sentenceLogProb('a b')).toBeCloseTo(lm.logProb(end, a) + lm.logProb(a, b) + lm.logProb(b, end), 6);
    expect(lm.sentenceLogProb('a zebra')).toBe(-Infinity);
  });

  it('each context sums to 1 with nothing pruned, to less when rare words leave the lexicon', () => {
    const sum = (m: WordLm, v: number) =>
      Array.from({ length: m.words.length + 1 }, (_, w) => Math.exp(m.logProb(v, w))).reduce((x, y) => x + y);
    for (let v = 0; v <= lm.words.length; v++) expect(sum(lm, v)).toBeCloseTo(1, 6);
    const pruned = WordLm.build(CORPUS, { minCount: 3, minBigramCount: 1 }); // c (2) is rare
    expect(pruned.words).toEqual(['a', 'b']);
    expect(pruned.wordId('c')).toBeUndefined();
    for (let v = 0; v <= pruned.words.length; v++) {
      expect(sum(pruned, v)).toBeLessThan(1);
      expect(sum(pruned, v)).toBeGreaterThan(0.7);
    }
  });

  it('round-trips through its file bit for bit; the same corpus gives the same bytes', () => {
    const bytes = lm.encode();
    const back = WordLm.decode(bytes);
    expect(back.words).toEqual(lm.words);
    expect(back.info).toEqual(lm.info);
    expect(back.bigramCount).toBe(lm.bigramCount);
    for (let v = 0; v <= lm.words.length; v++) for (let w = 0; w <= lm.words.length; w++) expect(back.logProb(v, w)).toBe(lm.logProb(v, w));
    expect(WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, discount: 0.5 }).encode()).toEqual(bytes);
    // bigrams seen once are not stored with minBigramCount 2: they take the backed-off value
    const kept = WordLm.build(CORPUS, { minCount: 1, discount: 0.5 });
    expect(kept.bigramCount).toBeLessThan(lm.bigramCount);
    expect(kept.logProb(0, 2)).not.toBe(lm.logProb(0, 2)); // a -> c, seen once
  });

  it('bad input is a typed error', () => {
    expect(() => WordLm.build([' ', ''])).toThrow(ConfigError);
    expect(() => WordLm.build(['a b'], { minCount: 2 })).toThrow(/no word is seen 2 times/);
    expect(() => WordLm.build(CORPUS, { discount: 1 })).toThrow(ConfigError);
    expect(() => lm.logProb(0, 99)).toThrow(ConfigError);
    expect(() => WordLm.decode(encodeSafetensors({ x: { shape: [1], data: new Float32Array(1) } }), 'x.safetensors')).toThrow(
      SafetensorsError,
    );
  });
});
