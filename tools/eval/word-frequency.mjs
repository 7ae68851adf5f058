#!/usr/bin/env node
// Which reference words a transcript says, by how often each word occurs in a training text: does
// the model say words it met rarely or never, or only its most frequent ones? Words are @zipper/eval's
// normalized words, counted over the training text's sentences (a data manifest's `text` fields, one
// JSON object a line, or a plain text file, one sentence a line). A reference word counts as said
// when the hypothesis of its utterance contains it anywhere (a bag-of-words test, not the WER's
// alignment). With --target (e.g. a TTS evaluation's target.txt: the recognizer's transcript of the
// gold units' audio), each bucket also gives the share said among the words the target holds, which
// takes out the words the recognizer cannot hear even in the oracle's audio. Several --hyp files (one
// per seed) are pooled against the same --ref (and --target). --edges gives the buckets' lower
// training counts after 0 (default 1,5,20,100,1000: buckets 0, 1-4, 5-19, 20-99, 100-999, 1000+).
// Prints one JSON line.
//
//   node tools/eval/word-frequency.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] --train TRAIN.jsonl|TRAIN.txt
//                                      [--target TARGET.txt] [--edges 1,5,20,100,1000]
//
// Needs @zipper/eval built (npm run build).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { words } from '@zipper/eval';
import { linePairs } from './line-pairs.mjs';

const USAGE =
  'usage: node tools/eval/word-frequency.mjs --ref REF.txt --hyp HYP.txt[,HYP2.txt...] --train TRAIN.jsonl|TRAIN.txt [--target TARGET.txt] [--edges 1,5,20,100,1000]';
const { values: v } = parseArgs({
  options: {
    ref: { type: 'string' },
    hyp: { type: 'string' },
    train: { type: 'string' },
    target: { type: 'string' },
    edges: { type: 'string' },
  },
});
const edges = [0, ...(v.edges ?? '1,5,20,100,1000').split(',').map(Number)];
const increasing = edges.every((e, i) => Number.isInteger(e) && (i === 0 || e > edges[i - 1]));
if (!v.ref || !v.hyp || !v.train || !increasing) {
  console.error(USAGE);
  process.exit(2);
}

/** Each normalized word's count over the training text's sentences. */
const counts = new Map();
readFileSync(v.train, 'utf8')
  .split('\n')
  .forEach((line, i) => {
    if (line.trim() === '') return;
    let text = line;
    if (v.train.endsWith('.jsonl')) {
      try {
        text = JSON.parse(line).text;
      } catch {
        text = undefined;
      }
      if (typeof text !== 'string') {
        console.error(`${v.train}:${i + 1}: not a JSON object with a "text" string`);
        process.exit(2);
      }
    }
    for (const w of words(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  });

const hyps = v.hyp.split(',');
const pairs = linePairs(v.ref, hyps);
const targets = v.target ? linePairs(v.ref, [v.target]).map(([, t]) => new Set(words(t))) : undefined;
const buckets = edges.map((from, i) => ({
  from,
  to: i + 1 < edges.length ? edges[i + 1] - 1 : null,
  words: 0,
  said: 0,
  ...(targets ? { inTarget: 0, saidOfTarget: 0 } : {}),
}));
pairs.forEach(([ref, hyp], k) => {
  const said = new Set(words(hyp));
  const target = targets?.[k % targets.length];
  for (const w of words(ref)) {
    const n = counts.get(w) ?? 0;
    const b = buckets[edges.findLastIndex((e) => n >= e)];
    b.words++;
    if (said.has(w)) b.said++;
    if (target?.has(w)) {
      b.inTarget++;
      if (said.has(w)) b.saidOfTarget++;
    }
  }
});
const share = (a, b) => (b > 0 ? Number((a / b).toFixed(4)) : null);
console.log(
  JSON.stringify({
    ref: v.ref,
    hyp: v.hyp,
    train: v.train,
    ...(v.target ? { target: v.target } : {}),
    utterances: pairs.length,
    trainWords: counts.size,
    buckets: buckets.map((b) => ({
      ...b,
      saidShare: share(b.said, b.words),
      ...(targets ? { saidOfTargetShare: share(b.saidOfTarget, b.inTarget) } : {}),
    })),
  }),
);
