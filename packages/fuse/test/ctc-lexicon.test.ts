/**
 * Lexicon-constrained CTC beam search (ctc-lexicon.ts) on hand-made byte log-probabilities: it
 * spells only lexicon words where greedy decoding does not; with the LM off and a wide beam its CTC
 * score is the exact probability of its labels (CtcPrefixScorer, itself checked against every
 * alignment in ctc-joint.test.ts); the LM weight, the word bonus and the blank penalty move the
 * choice the way their definitions say; each word is scored after the two before it (a trigram LM); the trie's lookahead is the best unigram below a node; with `oovByteLogProb` an unknown word is spelled from the lexicon's letters at that
 * cost a byte, its score exact and the LM context restarted after it; with `dictionaryWordLogProb` a word of
 * the LM's dictionary at that flat cost (and without it the dictionary changes nothing); where every prefix ends inside a
 * word the lexicon cannot complete, the completed words come back; bad input is a typed error.
 */
import { ConfigError, ShapeError } from '@zipper/core';
import { describe, expect, it } from 'vitest';
import { ByteLexicon, ctcLexiconBeam, CtcPrefixScorer, type WordScorer } from '../src/index.js';

const C = 256; // byte classes; the blank is C
const BLANK = C;
const FLOOR = Math.log(1e-6);

/** Frames of byte probabilities (each a map letter | 'space' | 'blank' -> p; the rest on the floor), as log-probs [T, C + 1]. */
function frames(...ps: Record<string, number>[]): Float64Array {
  const out = new Float64Array(ps.length * (C + 1)).fill(FLOOR);
  ps.forEach((p, t) => {
    for (const [k, v] of Object.entries(p)) {
      const label = k === 'blank' ? BLANK : k === 'space' ? 32 : k.charCodeAt(0);
      out[t * (C + 1) + label] = Math.log(v);
    }
  });
  return out;
}

/** A unigram LM (bigrams equal to unigrams) over `probs` (word -> p; the rest is the boundary's). */
function unigramLm(probs: Record<string, number>): WordScorer {
  const words = Object.keys(probs);
  const p = [...Object.values(probs), 1 - Object.values(probs).reduce((a, b) => a + b, 0)];
  return {
    words,
    boundary: words.length,
    logProb: (_prev, next) => Math.log(p[next]!),
    unigramLogProb: (w) => Math.log(p[w]!),
  };
}

const greedy = (lp: Float64Array): string => {
  let out = '';
  let prev = -1;
  for (let t = 0; t < lp.length / (C + 1); t++) {
    const row = lp.subarray(t * (C + 1), (t + 1) * (C + 1));
    const k = row.indexOf(Math.max(...row));
    if (k !== prev && k !== BLANK) out += String.fromCharCode(k);
    prev = k;
  }
  return out;
};

describe('ctcLexiconBeam', () => {
  // "cat" with an unclear last letter: x is more likely than t, but "cax" is no word
  const cat = frames(
    { c: 0.9, blank: 0.1 },
    { blank: 0.9, c: 0.1 },
    { a: 0.8, blank: 0.2 },
    { x: 0.5, t: 0.4, blank: 0.1 },
    { blank: 0.95 },
  );
  const lexicon = ByteLexicon.of(unigramLm({ cat: 0.3, cab: 0.2, at: 0.2, a: 0.1 }));

  it('spells only lexicon words where greedy decoding does not', () => {
    expect(greedy(cat)).toBe('cax');
    const [best] = ctcLexiconBeam(cat, C, lexicon, { lmWeight: 0, wordBonus: 0, blankPenalty: 0 });
    expect(best!.text).toBe('cat');
    expect(best!.words).toEqual([0]);
  });

  it('with the LM off and a wide beam, its CTC score is the exact probability of its labels', () => {
    const hyps = ctcLexiconBeam(cat, C, lexicon, {
      lmWeight: 0,
      wordBonus: 0,
      blankPenalty: 0,
      beam: 64,
      nBest: 3,
      labelThreshold: -1e9,
      margin: 1e9,
    });
    const scorer = new CtcPrefixScorer(cat, cat.length / (C + 1), C);
    for (const h of hyps) {
      let g = scorer.initial();
      for (const b of new TextEncoder().encode(h.text)) g = scorer.extend(g, b);
      expect(h.ctc).toBeCloseTo(scorer.final(g), 10);
      expect(h.score).toBeCloseTo(h.ctc, 12);
    }
    // best first, each a different lexicon spelling: "at" skips the weak first c, "cab" needs a b at the floor
    expect(hyps.map((h) => h.text)).toEqual(['cat', 'at', 'a']);
    expect(hyps[0]!.score).toBeGreaterThan(hyps[1]!.score);
  });

  it('the LM weight moves a close acoustic call to the likelier word; its score is the sum of its parts', () => {
    // one letter: a slightly ahead of b acoustically, b far more likely under the LM
    const lp = frames({ a: 0.51, b: 0.49 }, { blank: 0.99 });
    const lex = ByteLexicon.of(unigramLm({ a: 0.01, b: 0.5 }));
    expect(ctcLexiconBeam(lp, C, lex, { lmWeight: 0, wordBonus: 0, blankPenalty: 0 })[0]!.text).toBe('a');
    const [b] = ctcLexiconBeam(lp, C, lex, { lmWeight: 1, wordBonus: 0, blankPenalty: 0 });
    expect(b!.text).toBe('b');
    // ln p_lm(b, </s>) = ln 0.5 + ln(1 - 0.51)
    expect(b!.lm).toBeCloseTo(Math.log(0.5) + Math.log(0.49), 10);
    expect(b!.score).toBeCloseTo(b!.ctc + b!.lm, 10);
  });

  it('spaces separate words; the word bonus trades one long word for two short ones', () => {
    // "at", a weak space, "a": the words "at a", or without the space the rarer word "ata"
    const lp = frames({ a: 0.9 }, { t: 0.9 }, { space: 0.3, blank: 0.7 }, { a: 0.9 }, { blank: 0.9 });
    const lex = ByteLexicon.of(unigramLm({ at: 0.3, a: 0.3, ata: 0.01 }));
    const [two] = ctcLexiconBeam(lp, C, lex, { lmWeight: 0, wordBonus: 0, blankPenalty: 0 });
    expect(two!.text).toBe('ata'); // without the space: the space costs ln 0.3 against ln 0.7
    const [bonus] = ctcLexiconBeam(lp, C, lex, { lmWeight: 0, wordBonus: 2, blankPenalty: 0 });
    expect(bonus!.text).toBe('at a');
    expect(bonus!.words).toEqual([0, 1]);
    expect(bonus!.score).toBeCloseTo(bonus!.ctc + 2 * 2, 10);
  });

  it('scores each word in the context of the two before it (a trigram LM), the boundary standing for missing ones', () => {
    // "at a at a" spelled clearly; an LM whose every (before, prev, next) has its own value
    const lp = frames(
      { a: 0.9 },
      { t: 0.9 },
      { space: 0.9 },
      { a: 0.9 },
      { space: 0.9 },
      { a: 0.9 },
      { t: 0.9 },
      { space: 0.9 },
      { a: 0.9 },
      { blank: 0.9 },
    );
    const words = ['at', 'a'];
    const B = words.length;
    const value = (prev: number, next: number, before: number) => -(1 + before * 9 + prev * 3 + next) / 100;
    const lm: WordScorer = { words, boundary: B, logProb: value, unigramLogProb: () => Math.log(0.3) };
    const [best] = ctcLexiconBeam(lp, C, ByteLexicon.of(lm), { lmWeight: 1, wordBonus: 0, blankPenalty: 0 });
    expect(best!.text).toBe('at a at a');
    // <s> <s> at, <s> at a, at a at, a at a, at a </s>
    expect(best!.lm).toBeCloseTo(value(B, 0, B) + value(0, 1, B) + value(1, 0, 0) + value(0, 1, 1) + value(1, B, 0), 12);
  });

  it('the blank penalty keeps a letter the head half drops; the CTC score is then that of the penalized blank', () => {
    // "a", then b against a likelier blank: "a" without a penalty, "ab" once the blank costs 1 more
    const lp = frames({ a: 0.9, blank: 0.1 }, { b: 0.3, blank: 0.7 });
    const lex = ByteLexicon.of(unigramLm({ a: 0.3, ab: 0.3 }));
    const opts = { lmWeight: 0, wordBonus: 0, beam: 64, labelThreshold: -1e9, margin: 1e9 };
    expect(ctcLexiconBeam(lp, C, lex, { ...opts, blankPenalty: 0 })[0]!.text).toBe('a');
    const [ab] = ctcLexiconBeam(lp, C, lex, { ...opts, blankPenalty: 1 });
    expect(ab!.text).toBe('ab');
    const penalized = lp.map((x, i) => (i % (C + 1) === BLANK ? x - 1 : x));
    const scorer = new CtcPrefixScorer(penalized, 2, C);
    expect(ab!.ctc).toBeCloseTo(scorer.final(scorer.extend(scorer.extend(scorer.initial(), 97), 98)), 10);
  });

  it('all blanks: one empty transcript; the lookahead is the best unigram below a node', () => {
    const lp = frames({ blank: 0.99 }, { blank: 0.99 });
    const [h] = ctcLexiconBeam(lp, C, lexicon);
    expect(h!.text).toBe('');
    expect(h!.words).toEqual([]);
    const c = lexicon.child(0, 'c'.charCodeAt(0))!;
    expect(lexicon.lookahead(c)).toBeCloseTo(Math.log(0.3), 12); // cat (0.3) and cab (0.2) below "c"
    expect(lexicon.lookahead(lexicon.child(c, 'a'.charCodeAt(0))!)).toBeCloseTo(Math.log(0.3), 12);
    expect(lexicon.word(lexicon.child(0, 'a'.charCodeAt(0))!)).toBe(3);
    expect(lexicon.child(0, 'z'.charCodeAt(0))).toBeUndefined();
  });

  it('with oovByteLogProb an unknown word is spelled from the lexicon letters at that cost a byte, scored exactly', () => {
    // "cax": no word, so the lexicon alone reads "cat"; cheap unknown bytes read what the head hears (x from "ox")
    const withX = ByteLexicon.of(unigramLm({ cat: 0.3, cab: 0.2, at: 0.2, a: 0.1, ox: 0.05 }));
    expect(ctcLexiconBeam(cat, C, withX, { lmWeight: 1, wordBonus: 0, blankPenalty: 0 })[0]!.text).toBe('cat');
    const wide = { lmWeight: 1, wordBonus: 0, blankPenalty: 0, beam: 64, nBest: 4, labelThreshold: -1e9, margin: 1e9 };
    const hyps = ctcLexiconBeam(cat, C, withX, { ...wide, oovByteLogProb: -0.1 });
    const cax = hyps[0]!;
    expect(cax.text).toBe('cax');
    expect(cax.words).toEqual([-1]);
    // 3 unknown bytes, then </s> after an unknown word: the boundary's own p (1 - 0.85) as after <s>
    expect(cax.lm).toBeCloseTo(3 * -0.1 + Math.log(0.15), 12);
    const scorer = new CtcPrefixScorer(cat, cat.length / (C + 1), C);
    let g = scorer.initial();
    for (const ch of 'cax') g = scorer.extend(g, ch.charCodeAt(0));
    expect(cax.ctc).toBeCloseTo(scorer.final(g), 10);
    expect(cax.score).toBeCloseTo(cax.ctc + cax.lm, 10);
    // a lexicon word spelled freely is the lexicon's word (listed once, with its LM score)
    const known = hyps.find((h) => h.text === 'cat')!;
    expect(known.words).toEqual([0]);
    expect(known.lm).toBeCloseTo(Math.log(0.3) + Math.log(0.15), 12);
    // at 5 nats a byte the unknown word costs more than the head's doubt between x and t
    expect(ctcLexiconBeam(cat, C, withX, { ...wide, oovByteLogProb: -5 })[0]!.text).toBe('cat');
  });

  it('an unknown word restarts the LM context; its letters are only the lexicon bytes; its text is UTF-8', () => {
    // "zz at": zz is unknown; "at" is then scored as after <s> <s>, and </s> after "at" with the boundary before it
    const lp = frames({ z: 0.9 }, { blank: 0.9 }, { z: 0.9 }, { space: 0.9 }, { a: 0.9 }, { t: 0.9 }, { blank: 0.9 });
    const words = ['at', 'zoo'];
    const B = words.length;
    const value = (prev: number, next: number, before: number) => -(1 + before * 9 + prev * 3 + next) / 100;
    const lm: WordScorer = { words, boundary: B, logProb: value, unigramLogProb: () => Math.log(0.3) };
    const [best] = ctcLexiconBeam(lp, C, ByteLexicon.of(lm), { lmWeight: 1, wordBonus: 0, blankPenalty: 0, oovByteLogProb: -0.5 });
    expect(best!.text).toBe('zz at');
    expect(best!.words).toEqual([-1, 0]);
    expect(best!.lm).toBeCloseTo(2 * -0.5 + value(B, 0, B) + value(0, B, B), 12);
    // q is in no lexicon word: it is never spelled, however clear
    const q = frames({ q: 0.9, a: 0.05 }, { blank: 0.9 });
    const lex = ByteLexicon.of(unigramLm({ at: 0.5 }));
    expect(lex.spells('q'.charCodeAt(0))).toBe(false);
    expect(ctcLexiconBeam(q, C, lex, { oovByteLogProb: -0.1 }).map((h) => h.text)).not.toContain('q');
    // "fé" (f, 0xc3, 0xa9) spelled from café's bytes reads back as text
    const fe = frames({ f: 0.9 }, { '\u00c3': 0.9 }, { '\u00a9': 0.9 }, { blank: 0.9 }); // a key's char code is its byte
    const [h] = ctcLexiconBeam(fe, C, ByteLexicon.of(unigramLm({ café: 0.5 })), { oovByteLogProb: -0.1, blankPenalty: 0 });
    expect(h!.text).toBe('fé');
  });

  it('with dictionaryWordLogProb a dictionary word is spelled at that flat cost, scored exactly; without it, never', () => {
    const base = unigramLm({ cat: 0.3, cab: 0.2, at: 0.2, a: 0.1 });
    const withDict = ByteLexicon.of({ ...base, dictionary: ['cax', 'cabs'] });
    const wide = { lmWeight: 1, wordBonus: 0, blankPenalty: 0, beam: 64, nBest: 4, labelThreshold: -1e9, margin: 1e9 };
    // without the setting the dictionary changes nothing: the same hypotheses, number for number
    expect(ctcLexiconBeam(cat, C, withDict, wide)).toEqual(ctcLexiconBeam(cat, C, lexicon, wide));
    expect(ctcLexiconBeam(cat, C, withDict, { ...wide, oovByteLogProb: -0.1 })).toEqual(
      ctcLexiconBeam(cat, C, lexicon, { ...wide, oovByteLogProb: -0.1 }),
    );
    const [cax] = ctcLexiconBeam(cat, C, withDict, { ...wide, dictionaryWordLogProb: -0.1 });
    expect(cax!.text).toBe('cax');
    expect(cax!.words).toEqual([-2]);
    // the flat cost, then </s> as after <s> (the context restarts): the boundary's p, 1 - 0.8
    expect(cax!.lm).toBeCloseTo(-0.1 + Math.log(0.2), 12);
    const scorer = new CtcPrefixScorer(cat, cat.length / (C + 1), C);
    let g = scorer.initial();
    for (const ch of 'cax') g = scorer.extend(g, ch.charCodeAt(0));
    expect(cax!.ctc).toBeCloseTo(scorer.final(g), 10);
    expect(cax!.score).toBeCloseTo(cax!.ctc + cax!.lm, 10);
    // at 5 nats a dictionary word costs more than the head's doubt between x and t
    expect(ctcLexiconBeam(cat, C, withDict, { ...wide, dictionaryWordLogProb: -5 })[0]!.text).toBe('cat');
    // the same bytes spelled freely where that is cheaper (3 bytes at -0.01 > -0.1): an unknown word, else the dictionary's
    expect(ctcLexiconBeam(cat, C, withDict, { ...wide, dictionaryWordLogProb: -0.1, oovByteLogProb: -0.01 })[0]!.words).toEqual([-1]);
    expect(ctcLexiconBeam(cat, C, withDict, { ...wide, dictionaryWordLogProb: -0.1, oovByteLogProb: -1 })[0]!.words).toEqual([-2]);
    // the trie: "cax" is a dictionary word only (no lexicon word below: lookahead -Infinity); "cab" leads to both
    const node = (w: string) => [...w].reduce((n, ch) => withDict.child(n, ch.charCodeAt(0))!, 0);
    expect(withDict.lookahead(node('cax'))).toBe(-Infinity);
    expect(withDict.dictionaryWord(node('cax'))).toBe(0);
    expect(withDict.dictionaryWord(node('cabs'))).toBe(1);
    expect(withDict.reachesDictionary(node('cab'))).toBe(true);
    expect(withDict.lookahead(node('cab'))).toBeCloseTo(Math.log(0.2), 12);
    expect(withDict.reachesDictionary(node('at'))).toBe(false);
    expect(withDict.dictionaryWord(node('cab'))).toBe(-1);
    // a dictionary word restarts the context as an unknown word does: "zz at" scores at after <s> <s>
    const lp = frames({ z: 0.9 }, { blank: 0.9 }, { z: 0.9 }, { space: 0.9 }, { a: 0.9 }, { t: 0.9 }, { blank: 0.9 });
    const words = ['at', 'zoo'];
    const B = words.length;
    const value = (prev: number, next: number, before: number) => -(1 + before * 9 + prev * 3 + next) / 100;
    const lm: WordScorer = { words, boundary: B, logProb: value, unigramLogProb: () => Math.log(0.3), dictionary: ['zz'] };
    const [best] = ctcLexiconBeam(lp, C, ByteLexicon.of(lm), { lmWeight: 1, wordBonus: 0, blankPenalty: 0, dictionaryWordLogProb: -0.5 });
    expect(best!.text).toBe('zz at');
    expect(best!.words).toEqual([-2, 0]);
    expect(best!.lm).toBeCloseTo(-0.5 + value(B, 0, B) + value(0, B, B), 12);
  });

  it('the packed trie equals a naive one: every word and prefix, its ids, lookahead and dictionary marks', () => {
    // 3,000 random lexicon words (with a two-byte letter) and 2,000 dictionary words; each prefix checked against sets
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const letters = [...'abcdefghijklmnopqrstuvwxyz', "'", 'é'];
    const word = () => Array.from({ length: 1 + Math.floor(rand() * 8) }, () => letters[Math.floor(rand() * letters.length)]).join('');
    const words = [...new Set(Array.from({ length: 3000 }, word))];
    const probs = words.map(() => rand());
    const inLexicon = new Set(words);
    const dictionary = [...new Set(Array.from({ length: 2000 }, word))].filter((w) => !inLexicon.has(w));
    const lm: WordScorer = {
      words,
      boundary: words.length,
      logProb: () => 0,
      unigramLogProb: (w) => Math.log(probs[w]!),
      dictionary,
    };
    const lex = ByteLexicon.of(lm);
    const enc = new TextEncoder();
    const bytesOf = (w: string) => [...enc.encode(w)];
    const key = (b: number[]) => b.join(',');
    const prefixes = new Map<string, { best: number; dict: boolean }>();
    const mark = (w: string, p: number, dict: boolean) => {
      const b = bytesOf(w);
      for (let i = 1; i <= b.length; i++) {
        const k = key(b.slice(0, i));
        const e = prefixes.get(k) ?? { best: -Infinity, dict: false };
        prefixes.set(k, { best: Math.max(e.best, p), dict: e.dict || dict });
      }
    };
    words.forEach((w, i) => mark(w, Math.log(probs[i]!), false));
    dictionary.forEach((w) => mark(w, -Infinity, true));
    expect(lex.size).toBe(prefixes.size + 1);
    const walk = (b: number[]) => b.reduce<number | undefined>((n, x) => (n === undefined ? undefined : lex.child(n, x)), 0);
    for (const [k, e] of prefixes) {
      const node = walk(k.split(',').map(Number))!;
      expect(node).toBeGreaterThan(0);
      expect(lex.lookahead(node)).toBe(e.best);
      expect(lex.reachesDictionary(node)).toBe(e.dict);
    }
    words.forEach((w, i) => expect(lex.word(walk(bytesOf(w))!)).toBe(i));
    dictionary.forEach((w, i) => expect(lex.dictionaryWord(walk(bytesOf(w))!)).toBe(i));
    // byte strings that are no prefix lead nowhere
    for (let i = 0; i < 2000; i++) {
      const b = bytesOf(word() + word());
      expect(walk(b) !== undefined).toBe(prefixes.has(key(b)));
    }
  });

  it('where every prefix kept ends inside a word no lexicon word completes: the completed words, not nothing', () => {
    // "at ca": "ca" begins "cat" but the t never comes; "at" alone lost the two clear letters (below the margin)
    const lp = frames({ a: 0.9 }, { t: 0.9 }, { space: 0.9 }, { c: 0.9 }, { a: 0.9 }, { blank: 0.9 });
    const lex = ByteLexicon.of(unigramLm({ cat: 0.3, at: 0.3 }));
    const hyps = ctcLexiconBeam(lp, C, lex, { lmWeight: 1, wordBonus: 0, blankPenalty: 0 });
    expect(hyps.map((h) => h.text)).toEqual(['at']);
    expect(hyps[0]!.words).toEqual([1]);
    // its LM score is that of the completed words: at, then </s>
    expect(hyps[0]!.lm).toBeCloseTo(Math.log(0.3) + Math.log(0.4), 12);
    // with unknown words allowed the partial word ends as one
    expect(ctcLexiconBeam(lp, C, lex, { lmWeight: 1, wordBonus: 0, blankPenalty: 0, oovByteLogProb: -1 })[0]!.text).toBe('at ca');
  });

  it('bad input is a typed error', () => {
    expect(() => ctcLexiconBeam(cat, C, lexicon, { oovByteLogProb: 1 })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { oovByteLogProb: NaN })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(new Float64Array(10), C, lexicon)).toThrow(ShapeError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { beam: 2, nBest: 3 })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { lmWeight: -1 })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { margin: 0 })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { blankPenalty: NaN })).toThrow(ConfigError);
    expect(() => ByteLexicon.of(unigramLm({ 'a b': 0.5 }))).toThrow(/holds a space/);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { dictionaryWordLogProb: 1 })).toThrow(ConfigError);
    expect(() => ctcLexiconBeam(cat, C, lexicon, { dictionaryWordLogProb: -Infinity })).toThrow(ConfigError);
    expect(() => ByteLexicon.of({ ...unigramLm({ at: 0.5 }), dictionary: ['at'] })).toThrow(/dictionary word 0 .* is in the lexicon/);
    expect(() => ByteLexicon.of({ ...unigramLm({ at: 0.5 }), dictionary: ['x y'] })).toThrow(/dictionary word 0 .* holds a space/);
  });
});
