#!/usr/bin/env node
// How loud a data build's recordings are, against digital full scale: per utterance the sample peak
// (dBFS) and the 10th / 50th / 99th percentiles of 25 ms frame levels (dBFS, 10 ms hop), with the
// shipped speech tokenizer's level fit (@zipper/tokenizers fitLevel, +-15 dB: the whole-dB gain at
// which its units lie nearest their centroids); the last line sums them up, with how many
// utterances a gain of +G dB (--gain, default 6) would clip in a 16-bit WAV (peak above -G dBFS).
//
//   node tools/speech/level-stats.mjs --data DIR --split dev [--limit 200] [--gain 6] [--per-utterance]
//
// Needs the tokenizers package built (npm run build). Prints JSON lines; the summary is the last.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, roundTo } from '@zipper/common';
import { fitLevel, loadSpeechTokenizer, prepareAudio, readWav } from '@zipper/tokenizers';

const { values: v } = parseArgs({
  options: {
    data: { type: 'string' },
    split: { type: 'string' },
    limit: { type: 'string', default: '200' },
    gain: { type: 'string', default: '6' },
    'per-utterance': { type: 'boolean', default: false },
  },
});
if (!v.data || !v.split) {
  console.error('usage: node tools/speech/level-stats.mjs --data DIR --split SPLIT [--limit N] [--gain G] [--per-utterance]');
  process.exit(2);
}
const limit = Number(v.limit);
const gain = Number(v.gain);
if (!Number.isInteger(limit) || limit < 1 || !(gain > 0)) {
  console.error(`--limit must be an integer >= 1 and --gain a number > 0 (dB), got ${v.limit}, ${v.gain}`);
  process.exit(2);
}
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const tok = loadSpeechTokenizer(path.join(repo, 'packages', 'checkpoints', 'speech-small-2048', 'tokenizer'));
const sr = tok.features.sampleRate;
const records = readFileSync(path.join(v.data, `${v.split}.jsonl`), 'utf8')
  .split('\n')
  .filter(Boolean)
  .slice(0, limit)
  .map((l) => JSON.parse(l));
const dbfs = (power) => 10 * Math.log10(power + 1e-12);
const at = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const rows = records.map((r) => {
  const x = prepareAudio(readWav(new Uint8Array(readFileSync(path.join(v.data, r.path)))), sr);
  const n = Math.round(0.025 * sr);
  const hop = Math.round(0.01 * sr);
  const frames = [];
  for (let s = 0; s + n <= x.length; s += hop) {
    let e = 0;
    for (let i = s; i < s + n; i++) e += x[i] * x[i];
    frames.push(dbfs(e / n));
  }
  frames.sort((p, q) => p - q);
  let peak = 0;
  for (const s of x) peak = Math.max(peak, Math.abs(s));
  const row = {
    id: r.id,
    voice: r.voice,
    peakDbfs: roundTo(20 * Math.log10(peak + 1e-12), 1),
    frameDbfs: { p10: roundTo(at(frames, 0.1), 1), p50: roundTo(at(frames, 0.5), 1), p99: roundTo(at(frames, 0.99), 1) },
    fitDb: fitLevel(tok, x, 15).gainDb,
  };
  if (v['per-utterance']) console.log(JSON.stringify(row));
  return row;
});
const fits = {};
for (const r of rows) fits[r.fitDb] = (fits[r.fitDb] ?? 0) + 1;
console.log(
  JSON.stringify({
    data: path.resolve(v.data),
    split: v.split,
    utterances: rows.length,
    peakDbfs: {
      min: Math.min(...rows.map((r) => r.peakDbfs)),
      median: median(rows.map((r) => r.peakDbfs)),
      max: Math.max(...rows.map((r) => r.peakDbfs)),
    },
    frameP99Dbfs: { median: median(rows.map((r) => r.frameDbfs.p99)) },
    gainDb: gain,
    clippedAtGain: rows.filter((r) => r.peakDbfs > -gain).length,
    fitDb: fits,
  }),
);
