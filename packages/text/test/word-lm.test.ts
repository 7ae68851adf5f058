/**
 * WordLm: interpolated absolute discounting by hand on a tiny corpus, bigram and trigram; every
 * context's distribution sums to 1 when nothing is pruned (and to less when rare words leave the
 * lexicon); the file round trip keeps every probability bit for bit and the bytes are
 * deterministic; a dictionary rides along without changing the counts or, when absent, the bytes; bad
 * input is typed.
 */
import { ConfigError, SafetensorsError, decodeSafetensors, encodeSafetensors } from '@zipper/core';
import { describe, expect, it } from 'vitest';
import { deflateSync } from 'fflate';
import { WordLm } from '../src/index.js';

const CORPUS = ['a b', 'a c', 'b', 'a b b', '  ', 'c a'];

describe('WordLm', () => {
  const lm = WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, discount: 0.5 });

  it('equals interpolated absolute discounting computed by hand', () => {
    // tokens a 4, b 4, c 2; 5 sentences -> N = 15 with the ends
    expect(lm.info).toEqual({
      config: { minCount: 1, minBigramCount: 1, discount: 0.5, order: 2, minTrigramCount: 2 },
      sentences: 5,
      tokens: 10,
    });
    expect(lm.order).toBe(2);
    expect(lm.logProb(0, 1, 2)).toBe(lm.logProb(0, 1)); // a bigram model ignores the word before
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

  it('keeps a dictionary beside the counts: sorted, without the lexicon or repeats, through its file; the counts unchanged', () => {
    for (const config of [
      { minCount: 1, minBigramCount: 1, discount: 0.5 },
      { minCount: 1, order: 3 as const },
    ]) {
      const plain = WordLm.build(CORPUS, config);
      const dict = WordLm.build(CORPUS, config, { dictionary: ['zeta', 'b', 'alpha', 'zeta', "o'er"] });
      expect(plain.dictionary).toEqual([]);
      expect(dict.dictionary).toEqual(['alpha', "o'er", 'zeta']);
      expect(dict.words).toEqual(plain.words);
      const back = WordLm.decode(dict.encode());
      expect(back.dictionary).toEqual(dict.dictionary);
      for (let v = 0; v <= lm.words.length; v++)
        for (let w = 0; w <= lm.words.length; w++) expect(back.logProb(v, w, v)).toBe(plain.logProb(v, w, v));
      // no dictionary (or an empty one): the file of a model built without one, byte for byte
      expect(WordLm.build(CORPUS, config, { dictionary: [] }).encode()).toEqual(plain.encode());
      expect(WordLm.decode(plain.encode()).dictionary).toEqual([]);
    }
    expect(() => WordLm.build(CORPUS, {}, { dictionary: ['two words'] })).toThrow(/dictionary: "two words" is not one word/);
    expect(() => WordLm.build(CORPUS, {}, { dictionary: [''] })).toThrow(ConfigError);
    // stored front-coded and deflated (the dictionary tensor, U8): far fewer bytes than its words
    const many = Array.from({ length: 2000 }, (_, i) => `word${String(i).padStart(4, '0')}`);
    const big = WordLm.build(CORPUS, {}, { dictionary: many });
    expect(WordLm.decode(big.encode()).dictionary).toEqual(many);
    const grown = big.encode().length - WordLm.build(CORPUS).encode().length;
    expect(grown).toBeLessThan(many.join('\n').length / 4);
    // a file whose dictionary is not one is refused as a file: not deflated, a broken line, not sorted
    const { tensors, metadata } = decodeSafetensors(lm.encode());
    const withBlob = (blob: Uint8Array) =>
      encodeSafetensors({ ...Object.fromEntries(tensors), dictionary: { shape: [blob.length], data: blob } }, { metadata });
    const deflated = (text: string) => deflateSync(new TextEncoder().encode(text));
    expect(WordLm.decode(withBlob(deflated('0 ant\n1 pe'))).dictionary).toEqual(['ant', 'ape']);
    for (const blob of [
      new Uint8Array([1, 2, 3]),
      deflated('0 ant\n9 x'),
      deflated('0 ant\nape'),
      deflated('0 bee\n0 ant'),
      deflated('0 ant\n0 '),
    ])
      expect(() => WordLm.decode(withBlob(blob), 'bad.safetensors')).toThrow(SafetensorsError);
  });

  describe('order 3', () => {
    const tri = WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, minTrigramCount: 1, discount: 0.5, order: 3 });
    const [a, b, c] = [0, 1, 2];
    const end = tri.boundary;

    it('equals interpolated absolute discounting computed by hand, on the bigram of the same corpus', () => {
      expect(tri.order).toBe(3);
      // after <s> <s>: a 3, b 1, c 1 (c = 5, n = 3), as the bigram after <s>
      expect(tri.logProb(end, a, end)).toBeCloseTo(Math.log((3 - 0.5) / 5 + ((0.5 * 3) / 5) * Math.exp(lm.logProb(end, a))), 6);
      // after <s> a: b 2 ('a b', 'a b b'), c 1 ('a c'): c(<s>, a) = 3, n = 2
      expect(tri.logProb(a, b, end)).toBeCloseTo(Math.log((2 - 0.5) / 3 + ((0.5 * 2) / 3) * Math.exp(lm.logProb(a, b))), 6);
      // <s> a -> </s> never seen: the backed-off bigram
      expect(tri.logProb(a, end, end)).toBeCloseTo(Math.log(((0.5 * 2) / 3) * Math.exp(lm.logProb(a, end))), 6);
      // the context (b, a) never occurs: p(w | a) on whole
      expect(tri.logProb(a, c, b)).toBe(lm.logProb(a, c));
      // no word before: the bigram
      expect(tri.logProb(a, b)).toBe(lm.logProb(a, b));
      expect(tri.sentenceLogProb('a b b')).toBeCloseTo(
        tri.logProb(end, a, end) + tri.logProb(a, b, end) + tri.logProb(b, b, a) + tri.logProb(b, end, b),
        6,
      );
    });

    it('each context sums to 1 with nothing pruned; pruned trigrams take the backed-off value', () => {
      const V = tri.words.length;
      for (let u = 0; u <= V; u++)
        for (let v = 0; v <= V; v++) {
          const sum = Array.from({ length: V + 1 }, (_, w) => Math.exp(tri.logProb(v, w, u))).reduce((x, y) => x + y);
          expect(sum).toBeCloseTo(1, 5);
        }
      const pruned = WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, discount: 0.5, order: 3 }); // minTrigramCount 2
      expect(pruned.trigramCount).toBeLessThan(tri.trigramCount);
      expect(pruned.trigramCount).toBeGreaterThan(0);
      // <s> a c was seen once: not stored, so (3 - 0.5 backed-off share) of <s> a's mass times p(c | a)
      expect(pruned.logProb(a, c, end)).toBeCloseTo(Math.log(((0.5 * 2) / 3) * Math.exp(lm.logProb(a, c))), 6);
    });

    it('round-trips through its file (version 2) bit for bit; a bigram file still reads', () => {
      const bytes = tri.encode();
      const back = WordLm.decode(bytes);
      expect(back.order).toBe(3);
      expect(back.trigramCount).toBe(tri.trigramCount);
      expect(back.info).toEqual(tri.info);
      const V = tri.words.length;
      for (let u = 0; u <= V; u++)
        for (let v = 0; v <= V; v++) for (let w = 0; w <= V; w++) expect(back.logProb(v, w, u)).toBe(tri.logProb(v, w, u));
      expect(WordLm.build(CORPUS, { minCount: 1, minBigramCount: 1, minTrigramCount: 1, discount: 0.5, order: 3 }).encode()).toEqual(bytes);
      expect(WordLm.decode(lm.encode()).order).toBe(2);
    });

    it('its file stores ids as U16 grouped by context; a broken group or a lexicon past 65,535 words is a typed error', () => {
      const { tensors, metadata } = decodeSafetensors(tri.encode());
      expect(metadata['version']).toBe('2');
      expect(tensors.get('trigram.next')!.stored).toBe('U16');
      expect(Array.from(tensors.get('bigram.offset')!.data)).toHaveLength(tri.words.length + 2);
      const broken = new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }]));
      const offset = Int32Array.from(broken.get('trigram.offset')!.data as Int32Array);
      [offset[1], offset[2]] = [offset[2]!, offset[1]!];
      broken.set('trigram.offset', { shape: [offset.length], data: offset });
      const bytes = encodeSafetensors(broken as Map<string, { shape: number[]; data: Int32Array | Float32Array }>, { metadata });
      expect(() => WordLm.decode(bytes, 'x.safetensors')).toThrow(/x.safetensors: trigram.offset is not ascending/);
      const many = Array.from({ length: 65536 }, (_, i) => `w${i}`);
      expect(() => WordLm.build([many.join(' ')], { minCount: 1, order: 3 }).encode()).toThrow(/at most 65,535 words/);
    });
  });

  it('bad input is a typed error', () => {
    expect(() => WordLm.build(CORPUS, { order: 4 as 3 })).toThrow(/order must be 2 or 3/);
    expect(() => WordLm.build(CORPUS, { order: 3, minTrigramCount: 0 })).toThrow(ConfigError);
    expect(() => WordLm.build([' ', ''])).toThrow(ConfigError);
    expect(() => WordLm.build(['a b'], { minCount: 2 })).toThrow(/no word is seen 2 times/);
    expect(() => WordLm.build(CORPUS, { discount: 1 })).toThrow(ConfigError);
    expect(() => lm.logProb(0, 99)).toThrow(ConfigError);
    expect(() => WordLm.decode(encodeSafetensors({ x: { shape: [1], data: new Float32Array(1) } }), 'x.safetensors')).toThrow(
      SafetensorsError,
    );
  });
});
