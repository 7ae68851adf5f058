#!/usr/bin/env node
// What a transcript's inserted words are, from @zipper/eval's sclite alignment of the normalized
// words. Where a transcript gets most words wrong, where its insertions fall among its
// substitutions is the alignment's tie-break (the backtrace takes a substitution before an
// insertion, so surplus words land early), not a fact about the speech; so each inserted word is
// placed by the words it got right: `lead` (before the utterance's first correct word), `inner`
// (between two correct words), `tail` (after the last one) or `unanchored` (an utterance with no
// correct word). `repeat` counts, apart from that, the inserted words that only repeat a neighbour
// (the hypothesis word just before or after is the same word). Also the transcripts' length against
// their references' (`lengthRatio`, the tie-break-free measure of how much more the speech says),
// the runs of consecutive insertions, the utterances whose transcript is longer than their
// reference, and the inserted words heard most often. Several --hyp files (e.g. one per seed, each
// against the same --ref) are pooled. Prints one JSON line.
//
//   node tools/eval/insertions.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] [--top 10]
//
// Needs @zipper/eval built (npm run build).
import { parseArgs } from 'node:util';
import { align, words } from '@zipper/eval';
import { linePairs } from './line-pairs.mjs';

const { values: v } = parseArgs({ options: { ref: { type: 'string' }, hyp: { type: 'string' }, top: { type: 'string' } } });
const top = v.top === undefined ? 10 : Number(v.top);
if (!v.ref || !v.hyp || !Number.isInteger(top) || top < 0) {
  console.error('usage: node tools/eval/insertions.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] [--top 10]');
  process.exit(2);
}
const at = { lead: 0, inner: 0, tail: 0, unanchored: 0 };
let repeat = 0;
let ins = 0;
let refWords = 0;
let hypWords = 0;
let runs = 0;
let longestRun = 0;
let longer = 0;
let utterances = 0;
const heard = new Map();
for (const [ref, hyp] of linePairs(v.ref, v.hyp.split(','))) {
  const r = words(ref);
  const h = words(hyp);
  const { ops } = align(r, h);
  utterances++;
  refWords += r.length;
  hypWords += h.length;
  if (h.length > r.length) longer++;
  const first = ops.indexOf('C');
  const last = ops.lastIndexOf('C');
  let j = 0; // the hypothesis word the next operation is about
  let run = 0;
  ops.forEach((op, k) => {
    if (op !== 'I') {
      run = 0;
      if (op !== 'D') j++;
      return;
    }
    ins++;
    if (run++ === 0) runs++;
    longestRun = Math.max(longestRun, run);
    at[first < 0 ? 'unanchored' : k < first ? 'lead' : k > last ? 'tail' : 'inner']++;
    if (h[j - 1] === h[j] || h[j + 1] === h[j]) repeat++;
    heard.set(h[j], (heard.get(h[j]) ?? 0) + 1);
    j++;
  });
}

const round = (x) => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    ref: v.ref,
    hyp: v.hyp.split(','),
    utterances,
    refWords,
    hypWords,
    lengthRatio: refWords > 0 ? round(hypWords / refWords) : null,
    ins,
    ...at,
    repeat,
    runs,
    meanRun: runs > 0 ? round(ins / runs) : null,
    longestRun,
    longer,
    top: [...heard.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, top)
      .map(([word, count]) => ({ word, count })),
  }),
);
