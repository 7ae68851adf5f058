#!/usr/bin/env node
/**
 * A voice-balanced, deterministic sample of a `zipper data build` manifest, printed as WAV paths
 * (one a line, resolved against the manifest's folder): the first N records of every voice, in
 * manifest order (ids ascending), voices in sorted order. No randomness: the builder already deals
 * sentences to voices from a seeded shuffle, so "first N per voice" is a sentence-random sample.
 *
 *   node tools/speech/voice-sample.mjs --manifest /work/data/full/speech-only.jsonl --per-voice 75 > list.txt
 *
 * Options: --manifest FILE (JSONL with voice and path), --per-voice N, --voices a,b (default: all),
 * --corpus DIR: instead of printing, write the eval corpus tools/speech/eval-wer.ts reads
 * (DIR/eval/refs.txt, one "ID<TAB>text" a line with ID = the record's id without its split prefix,
 * and DIR/eval/ID.wav symlinks to the audio); the manifest needs "text" (dev, test-clean).
 *
 *   node tools/speech/voice-sample.mjs --manifest /work/data/full/dev.jsonl --voices flite/slt --per-voice 25 \
 *     --corpus .cache/allvoices/dev/flite_slt
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const manifest = opt('manifest', '');
const perVoice = Number(opt('per-voice', '75'));
if (!manifest || !(Number.isInteger(perVoice) && perVoice > 0)) {
  console.error('usage: node tools/speech/voice-sample.mjs --manifest FILE.jsonl --per-voice N [--voices a,b]');
  process.exit(2);
}
const only = opt('voices', '') ? new Set(opt('voices', '').split(',')) : null;
const base = dirname(resolve(manifest));
const byVoice = new Map();
for (const [i, line] of readFileSync(manifest, 'utf8').split('\n').entries()) {
  if (!line.trim()) continue;
  const rec = JSON.parse(line);
  if (typeof rec.voice !== 'string' || typeof rec.path !== 'string') {
    console.error(`${manifest}:${i + 1}: record needs "voice" and "path"`);
    process.exit(1);
  }
  if (only && !only.has(rec.voice)) continue;
  const list = byVoice.get(rec.voice) ?? [];
  if (list.length < perVoice) list.push({ ...rec, path: resolve(base, rec.path) });
  byVoice.set(rec.voice, list);
}
const corpus = opt('corpus', '');
const refs = [];
for (const voice of [...byVoice.keys()].sort()) {
  const list = byVoice.get(voice);
  if (list.length < perVoice) console.error(`note: voice ${voice} has only ${list.length} records (< ${perVoice})`);
  for (const rec of list) {
    if (!corpus) {
      console.log(rec.path);
      continue;
    }
    if (typeof rec.text !== 'string') {
      console.error(`${manifest}: record ${rec.id} has no "text"; --corpus needs a manifest with transcripts (dev, test-clean)`);
      process.exit(1);
    }
    const id = rec.id.replace(/^.*-/, '');
    mkdirSync(join(corpus, 'eval'), { recursive: true });
    const link = join(corpus, 'eval', `${id}.wav`);
    if (!existsSync(link)) symlinkSync(rec.path, link);
    refs.push(`${id}\t${rec.text}`);
  }
}
if (corpus) writeFileSync(join(corpus, 'eval', 'refs.txt'), `${refs.join('\n')}\n`);
