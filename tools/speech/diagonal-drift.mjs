#!/usr/bin/env node
// How far a cross-rope diagonal lies from where the TTS voice says each word: flite renders each
// sentence of a manifest in the voice (`flite -voice slt -psdur`: every phone's end time), each word's
// start is found by walking its phones (a word's phone count from rendering it alone), and the
// start is predicted from what precedes the word, by rank (bos plus the text tokens before it: the
// plain diagonal) or by bytes (the bytes before it: `--cross-rope-bytes`), each with one rate
// (seconds per token or per byte) fitted by least squares over every word of every sentence. Prints
// one JSON line: the root-mean-square error of each, in tokens (the fitted seconds per token), by
// fifth of the sentence (word j of n in fifth floor(j / n * 5)). Sentences whose phones the
// per-word counts do not add up to are skipped (and counted).
//
//   node tools/speech/diagonal-drift.mjs --data DIR [--split aligned-tts.100pct] [--limit 120]
//       [--tokenizer packages/checkpoints/text-small/tokenizer] [--voice slt]
//
// Needs flite (Debian) and @zipper/tokenizers built (npm run build).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTextTokenizer } from '@zipper/tokenizers';

const { values: v } = parseArgs({
  options: {
    data: { type: 'string' },
    split: { type: 'string', default: 'aligned-tts.100pct' },
    limit: { type: 'string', default: '120' },
    tokenizer: { type: 'string', default: 'packages/checkpoints/text-small/tokenizer' },
    voice: { type: 'string', default: 'slt' },
  },
});
const limit = Number(v.limit);
if (!v.data || !Number.isInteger(limit) || limit < 1) {
  console.error(
    'usage: node tools/speech/diagonal-drift.mjs --data DIR [--split aligned-tts.100pct] [--limit 120] [--tokenizer DIR] [--voice slt]',
  );
  process.exit(2);
}
const { tokenizer } = await loadTextTokenizer(v.tokenizer);
const records = readFileSync(path.join(v.data, `${v.split}.jsonl`), 'utf8')
  .trim()
  .split('\n')
  .slice(0, limit)
  .map((l) => JSON.parse(l));

/** flite's phones of a text with their end times (seconds), pauses included. */
const phones = (text) =>
  execFileSync('flite', ['-voice', v.voice, '-psdur', '-t', text, 'none'])
    .toString()
    .trim()
    .split(/\s+/)
    .map((s) => {
      const [p, end] = s.split(':');
      return { p, end: Number(end) };
    });
const counts = new Map();
const phoneCount = (w) => {
  if (!counts.has(w)) counts.set(w, phones(w).filter((x) => x.p !== 'pau').length);
  return counts.get(w);
};

const rows = [];
let skipped = 0;
for (const r of records) {
  const words = r.text.split(' ');
  let prev = 0;
  const starts = [];
  for (const x of phones(r.text)) {
    if (x.p !== 'pau') starts.push(prev);
    prev = x.end;
  }
  const wordStart = [];
  let k = 0;
  for (const w of words) {
    wordStart.push(starts[k]);
    k += phoneCount(w);
  }
  if (k !== starts.length) {
    skipped++;
    continue;
  }
  let tokens = 1; // bos
  let bytes = 0;
  const byRank = [];
  const byBytes = [];
  words.forEach((w, j) => {
    byRank.push(tokens);
    byBytes.push(bytes);
    const piece = (j > 0 ? ' ' : '') + w;
    tokens += tokenizer.encode(piece).length;
    bytes += Buffer.byteLength(piece);
  });
  rows.push({ wordStart, byRank, byBytes });
}
const fit = (key) => {
  let xy = 0;
  let xx = 0;
  for (const r of rows)
    r.wordStart.forEach((t, j) => {
      xy += r[key][j] * t;
      xx += r[key][j] ** 2;
    });
  return xy / xx;
};
const secondsPerToken = fit('byRank');
const secondsPerByte = fit('byBytes');
const rmse = (key, rate) =>
  Array.from({ length: 5 }, (_, bin) => {
    let s = 0;
    let n = 0;
    for (const r of rows)
      r.wordStart.forEach((t, j) => {
        if (Math.floor((j / r.wordStart.length) * 5) !== bin) return;
        s += (r[key][j] * rate - t) ** 2;
        n++;
      });
    return +(Math.sqrt(s / n) / secondsPerToken).toFixed(3);
  });
console.log(
  JSON.stringify({
    sentences: rows.length,
    skipped,
    secondsPerToken: +secondsPerToken.toFixed(4),
    secondsPerByte: +secondsPerByte.toFixed(5),
    rmseTokensByFifth: { rank: rmse('byRank', secondsPerToken), bytes: rmse('byBytes', secondsPerByte) },
  }),
);
