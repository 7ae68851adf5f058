import { ZipperError } from '@zipper/common';
import { describe, expect, it } from 'vitest';
import { EvalError, align, characters, normalizeTranscript, scoreCorpus, scoreUtterance, words } from '../src/index.js';

describe('normalizeTranscript', () => {
  it('folds case, compatibility forms, punctuation and apostrophes as documented', () => {
    expect(normalizeTranscript('  Hello,   WORLD!  ')).toBe('hello world');
    expect(normalizeTranscript('Don\u2019t  “stop” -- now')).toBe("don't stop now");
    expect(normalizeTranscript("'quoted' rock'n'roll")).toBe("quoted rock'n'roll");
    expect(normalizeTranscript('ﬁne Ｆｕｌｌ')).toBe('fine full');
    expect(normalizeTranscript('Café ÜBER 3.5')).toBe('café über 3 5');
    expect(words('')).toEqual([]);
    expect(characters('a b')).toEqual(['a', 'b']);
  });
});

describe('scoreUtterance / scoreCorpus', () => {
  it('counts substitutions, deletions and insertions', () => {
    const u = scoreUtterance('a b c d', 'a x c');
    expect(u.words).toEqual({ n: 4, sub: 1, del: 1, ins: 0 });
    expect(scoreUtterance('the cat', '').words).toEqual({ n: 2, sub: 0, del: 2, ins: 0 });
    expect(scoreUtterance('', 'two words').words).toEqual({ n: 0, sub: 0, del: 0, ins: 2 });
    expect(scoreUtterance('The Cat.', 'the cat').words).toEqual({ n: 2, sub: 0, del: 0, ins: 0 });
    // characters: "cat" -> "cut": one substitution of three
    expect(scoreUtterance('cat', 'cut').chars).toEqual({ n: 3, sub: 1, del: 0, ins: 0 });
  });

  it('sums counts over the corpus before dividing', () => {
    const s = scoreCorpus(['a b c d', 'e'], ['a b c d', 'f g']);
    expect({ words: s.words, sub: s.sub, del: s.del, ins: s.ins }).toEqual({ words: 5, sub: 1, del: 0, ins: 1 });
    expect(s.wer).toBeCloseTo(2 / 5, 12);
    expect(s.cer).toBeCloseTo(2 / 5, 12); // chars: abcd + e = 5; e->f sub, g ins
    expect(scoreCorpus([''], ['']).wer).toBe(0);
    expect(scoreCorpus([''], ['x']).wer).toBe(Infinity);
  });

  it('prefers one substitution to a deletion plus an insertion (sclite costs)', () => {
    expect(align(['a'], ['b']).ops).toEqual(['S']);
    expect(align(['a', 'b'], ['b', 'c']).ops).toEqual(['D', 'C', 'I']);
  });

  it('refuses corpora of different lengths with a typed error', () => {
    expect(() => scoreCorpus(['a', 'b'], ['a'])).toThrow(EvalError);
    expect(() => scoreCorpus(['a', 'b'], ['a'])).toThrow(ZipperError);
    expect(() => scoreCorpus(['a', 'b'], ['a'])).toThrow(/2 references but 1 hypotheses/);
  });
});
