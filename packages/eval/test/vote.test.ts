import { describe, expect, it } from 'vitest';
import { voteTranscripts } from '@zipper/eval';

describe('voteTranscripts', () => {
  it('no other transcripts: the anchor, its white space tidied', () => {
    expect(voteTranscripts('the  cat sat ', [])).toBe('the cat sat');
    expect(voteTranscripts('', ['a b'])).toBe('');
  });

  it('a word most transcripts agree on replaces the anchor’s', () => {
    expect(voteTranscripts('the cat sad on the mat', ['the cat sat on the mat', 'the cat sat on a mat'])).toBe('the cat sat on the mat');
  });

  it('ties keep the anchor’s word; among the others, the first transcript’s', () => {
    expect(voteTranscripts('a cat', ['a bat'])).toBe('a cat');
    expect(voteTranscripts('a cat', ['a bat', 'a hat'])).toBe('a cat');
    expect(voteTranscripts('a cat', ['a bat', 'a hat', 'a bat'])).toBe('a bat');
    expect(voteTranscripts('a cat', ['a bat', 'a hat', 'a hat', 'a bat'])).toBe('a bat');
  });

  it('a word most others delete is dropped; words others insert are not added', () => {
    expect(voteTranscripts('the big cat', ['the cat', 'the cat'])).toBe('the cat');
    expect(voteTranscripts('the big cat', ['the cat', 'the big cat'])).toBe('the big cat');
    expect(voteTranscripts('the cat', ['the black cat', 'the black cat'])).toBe('the cat');
  });

  it('aligns with sclite’s costs: a shifted transcript votes at the right words', () => {
    // both others delete "x" and "on", one inserts "y" at the end: aligned, they outvote both words
    expect(voteTranscripts('x the cat sat on the mat', ['the cat sat the mat y', 'the cat sat the mat'])).toBe('the cat sat the mat');
    // equal-cost alignments are broken as sclite breaks them (a diagonal step first, from the end):
    // "sad" is aligned to "on" and deletes "sat", so neither vote carries a majority
    expect(voteTranscripts('the cat sat on the mat', ['the cat sad the mat', 'the cat sat on a mat'])).toBe('the cat sat on the mat');
  });
});
