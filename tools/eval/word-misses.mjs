#!/usr/bin/env node
// Which reference words a transcript misses, by what the word LM knows of them: its lexicon, its
// dictionary (the words the lexicon search spells at a flat cost), or neither (spelled from letters,
// if at all). A word counts as missed when the hypothesis of its utterance does not contain it
// anywhere (a bag-of-words test, not the WER's alignment: a word said twice and heard once counts as
// heard). Prints one JSON line.
//
//   node tools/eval/word-misses.mjs --ref REF.txt --hyp HYP.txt [--lm lm.safetensors]
//
// --lm defaults to the text tower package's (packages/checkpoints/text-small/lm.safetensors). Needs
// @zipper/text built (npm run build).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WordLm } from '@zipper/text';
import { linePairs } from './line-pairs.mjs';

const { values: v } = parseArgs({ options: { ref: { type: 'string' }, hyp: { type: 'string' }, lm: { type: 'string' } } });
if (!v.ref || !v.hyp) {
  console.error('usage: node tools/eval/word-misses.mjs --ref REF.txt --hyp HYP.txt [--lm lm.safetensors]');
  process.exit(2);
}
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const lmFile = v.lm ?? path.join(repo, 'packages', 'checkpoints', 'text-small', 'lm.safetensors');
const lm = WordLm.decode(new Uint8Array(readFileSync(lmFile)), lmFile);
const lexicon = new Set(lm.words);
const dictionary = new Set(lm.dictionary);
const pairs = linePairs(v.ref, [v.hyp]);
const counts = { lexicon: { words: 0, missed: 0 }, dictionary: { words: 0, missed: 0 }, neither: { words: 0, missed: 0 } };
pairs.forEach(([ref, hyp]) => {
  const heard = new Set(hyp.split(/\s+/).filter(Boolean));
  for (const w of ref.split(/\s+/).filter(Boolean)) {
    const c = counts[lexicon.has(w) ? 'lexicon' : dictionary.has(w) ? 'dictionary' : 'neither'];
    c.words++;
    if (!heard.has(w)) c.missed++;
  }
});
console.log(JSON.stringify({ ref: v.ref, hyp: v.hyp, lm: lmFile, utterances: pairs.length, ...counts }));
