#!/usr/bin/env node
// Synthesizes the speech-unit evaluation corpus with flite (no network, no downloads):
// example sentences from WordNet glosses, shuffled with a fixed seed, split into disjoint
// eval sentences (voice slt) and training sentences (voices slt, awb, rms, kal16 in turn).
//
//   node tools/speech/synth-corpus.mjs [--out .cache/units-eval] [--eval 60] [--train 600]
//
// Writes OUT/eval/NNN.wav + OUT/eval/refs.txt (one "NNN<TAB>text" a line), OUT/train/NNN.wav
// and OUT/train/list.txt (one wav path a line, the input of `zipper units train --in`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { requireFile, requireProgram } from '../setup/system.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = resolve(opt('out', '.cache/units-eval'));
const nEval = Number(opt('eval', '60'));
const nTrain = Number(opt('train', '600'));
const trainVoices = opt('voices', 'slt,awb,rms,kal16').split(',');

// The project's seeded PRNG (the built @zipper/common: run `npx turbo run build` once first).
const { mulberry32 } = await import('@zipper/common').catch((e) => {
  console.error(`synth-corpus: cannot load @zipper/common (${e.message}); run \`npx turbo run build\` first`);
  process.exit(1);
});

const seen = new Set();
const sentences = [];
for (const pos of ['noun', 'verb', 'adj', 'adv']) {
  const text = readFileSync(requireFile(`/usr/share/wordnet/data.${pos}`, 'wordnet-base'), 'latin1');
  for (const m of text.matchAll(/"([A-Za-z ,']+)"/g)) {
    const s = m[1].replace(/,/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
    const words = s.split(' ');
    if (words.length < 6 || words.length > 14 || seen.has(s)) continue;
    seen.add(s);
    sentences.push(s);
  }
}
const rand = mulberry32(20240529);
for (let i = sentences.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [sentences[i], sentences[j]] = [sentences[j], sentences[i]];
}
const evalSet = sentences.slice(0, nEval);
const trainSet = sentences.slice(nEval, nEval + nTrain);

const flite = requireProgram('flite', 'flite');
function synth(voice, text, file) {
  if (!existsSync(file)) execFileSync(flite, ['-voice', voice, '-t', text, '-o', file]);
}
mkdirSync(join(out, 'eval'), { recursive: true });
mkdirSync(join(out, 'train'), { recursive: true });
const refs = evalSet.map((s, i) => {
  const id = String(i).padStart(3, '0');
  synth('slt', s, join(out, 'eval', `${id}.wav`));
  return `${id}\t${s}`;
});
writeFileSync(join(out, 'eval', 'refs.txt'), `${refs.join('\n')}\n`);
const list = trainSet.map((s, i) => {
  const file = join(out, 'train', `${String(i).padStart(4, '0')}.wav`);
  synth(trainVoices[i % trainVoices.length], s, file);
  return file;
});
writeFileSync(join(out, 'train', 'list.txt'), `${list.join('\n')}\n`);
console.log(JSON.stringify({ out, eval: evalSet.length, train: trainSet.length, trainVoices, sentencePool: sentences.length }));
