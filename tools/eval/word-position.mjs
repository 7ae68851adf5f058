#!/usr/bin/env node
// Where in the sentence a transcript goes wrong: the share of reference words it gets right
// (`correct` in @zipper/eval's sclite alignment of the normalized words), by where the word sits
// in its sentence, in --bins equal parts (word i of n falls in bin floor((i + 0.5) / n * bins)).
// Speech that starts on its text and loses it reads high in the first bin and low after it; one
// that never follows it reads low throughout. Several --hyp files (e.g. one per seed, each against
// the same --ref) are pooled. Prints one JSON line.
//
//   node tools/eval/word-position.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] [--bins 5]
//
// Needs @zipper/eval built (npm run build).
import { parseArgs } from 'node:util';
import { align, words } from '@zipper/eval';
import { linePairs } from './line-pairs.mjs';

const { values: v } = parseArgs({ options: { ref: { type: 'string' }, hyp: { type: 'string' }, bins: { type: 'string' } } });
const bins = v.bins === undefined ? 5 : Number(v.bins);
if (!v.ref || !v.hyp || !Number.isInteger(bins) || bins < 1) {
  console.error('usage: node tools/eval/word-position.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] [--bins 5]');
  process.exit(2);
}
const words_ = Array.from({ length: bins }, () => 0);
const right = Array.from({ length: bins }, () => 0);
for (const [ref, hyp] of linePairs(v.ref, v.hyp.split(','))) {
  const r = words(ref);
  let i = 0; // the reference word the next operation is about
  for (const op of align(r, words(hyp)).ops) {
    if (op === 'I') continue;
    const b = Math.min(bins - 1, Math.floor(((i + 0.5) / r.length) * bins));
    words_[b]++;
    if (op === 'C') right[b]++;
    i++;
  }
}
const round = (x) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    ref: v.ref,
    hyp: v.hyp.split(','),
    bins,
    words: words_,
    right: right.map((c, b) => (words_[b] > 0 ? round(c / words_[b]) : null)),
    all: round(
      right.reduce((a, b) => a + b, 0) /
        Math.max(
          1,
          words_.reduce((a, b) => a + b, 0),
        ),
    ),
  }),
);
