/**
 * Vocoder quality: WER of pocketsphinx on original vs audio -> units -> audio resynthesis.
 * Not a CI test (minutes of CPU). Run from the repo root after tools/speech/synth-corpus.mjs:
 *
 *   npx vite-node -c vitest.config.ts tools/speech/eval-wer.ts -- --rate 50 --units 512 --stack 2
 *
 * Options: --corpus DIR (.cache/units-eval) --rate U/s --units K --stack S --mels M --gl ITERS --smoothing R
 *          --phase-init random|pghi (Griffin-Lim's starting phase; default: the tokenizer's, else random)
 *          --inversion nnls|pinv --iterations LLOYD --max-frames N --train-limit FILES --seed N
 *          --train-list FILE (default CORPUS/train/list.txt) --name RUN
 *          --mode units|vocoder (vocoder: no quantization, the vocoder's own WER)
 *          --tokenizer DIR (evaluate an existing tokenizer instead of training) --jobs 2
 *          --recognizer continuous|batch (pocketsphinx runner of @zipper/eval/node; default continuous,
 *          as RESULTS.md was measured)
 * Prints one JSON line: WER by sclite (reference) and by our own Levenshtein count, both sets.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  SpeechTokenizer,
  griffinLim,
  loadSpeechTokenizer,
  logMelForUnitRate,
  prepareAudio,
  readWav,
  saveSpeechTokenizer,
  writeWav,
} from '@zipper/tokenizers';
import { findPocketsphinx, transcribeWavFiles, type PocketsphinxMode } from '@zipper/eval/node';
import { requireProgram } from '../setup/system.mjs';

const scliteBin = requireProgram('/usr/lib/sctk/bin/sclite', 'sctk');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const corpus = resolve(opt('corpus', '.cache/units-eval'));
const rate = Number(opt('rate', '50'));
const units = Number(opt('units', '512'));
const stack = Number(opt('stack', '2'));
const mels = Number(opt('mels', '80'));
const gl = Number(opt('gl', '64'));
const phaseInit = opt('phase-init', 'random') as 'random' | 'pghi';
const smoothing = Number(opt('smoothing', '0'));
const inversion = opt('inversion', 'nnls') as 'nnls' | 'pinv';
const iterations = Number(opt('iterations', '20'));
const maxFrames = Number(opt('max-frames', '60000'));
const trainLimit = Number(opt('train-limit', '100000'));
const seed = Number(opt('seed', '0'));
const jobs = Number(opt('jobs', '2'));
// continuous: what RESULTS.md was measured with; batch: whole-utterance decoding as `zipper eval` runs it
const recognizer = opt('recognizer', 'continuous') as PocketsphinxMode;
findPocketsphinx(recognizer); // fail before any work when it is missing
const tokDir = opt('tokenizer', '');
const trainList = opt('train-list', '');
// units: audio -> units -> audio; vocoder: audio -> log-mel -> audio (no quantization: the vocoder's own ceiling)
const mode = opt('mode', 'units') as 'units' | 'vocoder';
const name = opt(
  'name',
  tokDir ? `eval-${tokDir.replace(/\W+/g, '_')}` : `${mode}-r${rate}-k${units}-s${stack}-m${mels}-gl${gl}-${inversion}`,
);
const outDir = resolve('.cache/units-runs', name);
mkdirSync(join(outDir, 'resynth'), { recursive: true });

const t0 = performance.now();
const readMono = (file: string, sr: number) => prepareAudio(readWav(readFileSync(file)), sr);
let tok: SpeechTokenizer;
if (tokDir) {
  tok = loadSpeechTokenizer(tokDir);
  if (argv.includes('--smoothing') || argv.includes('--gl') || argv.includes('--phase-init')) {
    const v = tok.vocoder;
    tok = new SpeechTokenizer({
      ...tok,
      vocoder: {
        ...v,
        smoothing: argv.includes('--smoothing') ? smoothing : v.smoothing,
        griffinLimIterations: argv.includes('--gl') ? gl : v.griffinLimIterations,
        phaseInit: argv.includes('--phase-init') ? phaseInit : v.phaseInit,
      },
      training: tok.training,
    });
  }
} else if (mode === 'vocoder') {
  const features = logMelForUnitRate(rate, stack, { nMels: mels });
  tok = new SpeechTokenizer({
    features,
    units: { numUnits: 1, stack },
    vocoder: { inversion, griffinLimIterations: gl, phaseInit },
    centroids: new Float32Array(stack * mels),
  });
} else {
  const files = readFileSync(trainList || join(corpus, 'train', 'list.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, trainLimit);
  const features = logMelForUnitRate(rate, stack, { nMels: mels });
  const clips = files.map((f) => readMono(f, features.sampleRate));
  tok = SpeechTokenizer.train(clips, {
    features,
    units: { numUnits: units, stack },
    vocoder: { inversion, griffinLimIterations: gl, smoothing, phaseInit },
    seed,
    iterations,
    maxFrames,
  });
  saveSpeechTokenizer(tok, join(outDir, 'tokenizer'));
}
const tTrain = performance.now();

const refs = readFileSync(join(corpus, 'eval', 'refs.txt'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split('\t') as [string, string]);
let quantErr = 0;
let resynthErr = 0;
let cells = 0;
for (const [id] of refs) {
  const x = readMono(join(corpus, 'eval', `${id}.wav`), tok.features.sampleRate);
  const ids = tok.encode(x);
  const target = tok.unitsToLogMel(ids);
  const feats = tok.featurize(x);
  let y: Float32Array;
  if (mode === 'vocoder') {
    const mag = tok.logMelToMagnitude(feats);
    const v = tok.vocoder;
    y = griffinLim(mag, feats.frames, tok.features, Math.max(1, (feats.frames - 1) * tok.features.hopLength), {
      iterations: v.griffinLimIterations,
      momentum: v.momentum,
      seed: v.seed,
      init: v.phaseInit,
    });
    const out = new Float32Array(x.length);
    out.set(y.subarray(0, x.length));
    y = out;
  } else y = tok.decode(ids, { length: x.length });
  // distances in log-mel (natural log) per cell: quantization (units vs original) and resynthesis (output vs original)
  const back = tok.featurize(y);
  const M = tok.features.nMels;
  for (let t = 0; t < feats.frames; t++) {
    for (let m = 0; m < M; m++) {
      const o = feats.data[t * M + m]!;
      quantErr += Math.abs(target.data[t * M + m]! - o);
      if (t < back.frames) resynthErr += Math.abs(back.data[t * M + m]! - o);
      cells++;
    }
  }
  // pocketsphinx wants 16 kHz mono 16-bit
  const y16 = prepareAudio({ sampleRate: tok.features.sampleRate, channels: [y], encoding: 'float32' }, 16000);
  writeFileSync(join(outDir, 'resynth', `${id}.wav`), writeWav(y16, 16000, 'pcm16'));
}
const tResynth = performance.now();

const recognize = (files: string[]): Promise<string[]> => transcribeWavFiles(files, { mode: recognizer, jobs });

const origCache = join(corpus, 'eval', recognizer === 'continuous' ? 'hyp-original.txt' : `hyp-original-${recognizer}.txt`);
let hypOrig: string[];
if (existsSync(origCache)) hypOrig = readFileSync(origCache, 'utf8').split('\n').slice(0, refs.length);
else {
  hypOrig = await recognize(refs.map(([id]) => join(corpus, 'eval', `${id}.wav`)));
  writeFileSync(origCache, hypOrig.join('\n'));
}
const hypRes = await recognize(refs.map(([id]) => join(outDir, 'resynth', `${id}.wav`)));
const tAsr = performance.now();

function editDistance(a: string[], b: string[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
const words = (s: string) => s.split(' ').filter(Boolean);
function ownWer(hyps: string[]): number {
  let err = 0;
  let n = 0;
  refs.forEach(([, ref], i) => {
    err += editDistance(words(ref), words(hyps[i] ?? ''));
    n += words(ref).length;
  });
  return err / n;
}
function sclite(hyps: string[], tag: string): number {
  const trn = (lines: string[]) => lines.map((s, i) => `${s} (slt_${refs[i]![0]})`).join('\n') + '\n';
  const refFile = join(outDir, 'ref.trn');
  const hypFile = join(outDir, `hyp-${tag}.trn`);
  writeFileSync(refFile, trn(refs.map(([, r]) => r)));
  writeFileSync(hypFile, trn(hyps));
  const report = execFileSync(scliteBin, ['-r', refFile, 'trn', '-h', hypFile, 'trn', '-i', 'spu_id', '-o', 'sum', 'stdout'], {
    encoding: 'utf8',
  });
  writeFileSync(join(outDir, `sclite-${tag}.txt`), report);
  const sum = report.split('\n').find((l) => l.includes('Sum/Avg'));
  const cells =
    sum
      ?.split('|')
      .map((c) => c.trim())
      .filter(Boolean) ?? [];
  // | Sum/Avg | # Snt # Wrd | Corr Sub Del Ins Err S.Err |
  const err = Number(cells[2]?.split(/\s+/)[4]);
  return err / 100;
}

const werOriginal = sclite(hypOrig, 'original');
const werResynth = sclite(hypRes, 'resynth');
console.log(
  JSON.stringify({
    name,
    unitRate: tok.unitRate,
    numUnits: tok.units.numUnits,
    stack: tok.units.stack,
    nMels: tok.features.nMels,
    hopLength: tok.features.hopLength,
    winLength: tok.features.winLength,
    nFft: tok.features.nFft,
    vocoder: tok.vocoder,
    mode,
    sentences: refs.length,
    logMelL1: { quantization: mode === 'units' ? quantErr / cells : 0, resynthesis: resynthErr / cells },
    sclite: { werOriginal, werResynth, ratio: werResynth / werOriginal },
    own: { werOriginal: ownWer(hypOrig), werResynth: ownWer(hypRes) },
    seconds: { train: (tTrain - t0) / 1000, resynth: (tResynth - tTrain) / 1000, asr: (tAsr - tResynth) / 1000 },
    out: outDir,
  }),
);
