/**
 * Speed of the speech vocoder (unit ids -> audio: log-mel lookup, mel inversion, Griffin-Lim) on
 * one core: new (memoised `unitMagnitudes` + fast `griffinLim`, what `SpeechTokenizer.decode`
 * runs) against old (every frame's mel inversion + the plain `griffinLimReference` loop) in the
 * same run, on the same units, alternating. Prints one JSON line: seconds of audio, median decode
 * seconds of each in CPU time of this (single-threaded) process, split into mel inversion and
 * Griffin-Lim, with the median wall time beside it; real-time factors (CPU time / audio), the
 * speedup, and the relative RMS difference of the two outputs.
 *
 *   flock /tmp/zipper-bench.lock npx vite-node -c vitest.config.ts tools/bench/vocoder.ts -- \
 *     [--tokenizer DIR] [--seconds 3.4] [--runs 5] [--gl ITERS] [--audio-dir DIR]
 *
 * Units: the default tokenizer (packages/speech/assets/speech-units-default) encodes the first
 * --seconds of the eval WAVs of .cache/units-eval/eval or .cache/units-eval-slt60/eval
 * (tools/speech/synth-corpus.mjs) concatenated, or of a synthetic harmonic signal when neither
 * exists. --gl overrides the tokenizer's Griffin-Lim iterations for both paths.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SpeechTokenizer,
  griffinLim,
  griffinLimReference,
  loadSpeechTokenizer,
  prepareAudio,
  readWavFile,
  smoothFrames,
  type VocoderConfig,
} from '@zipper/tokenizers';
import { median, mulberry32 } from '@zipper/common';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const seconds = Number(opt('seconds', '3.4'));
const runs = Number(opt('runs', '5'));
const tok = loadSpeechTokenizer(opt('tokenizer', 'packages/speech/assets/speech-units-default'));
const vocoder: VocoderConfig = { ...tok.vocoder, griffinLimIterations: Number(opt('gl', String(tok.vocoder.griffinLimIterations))) };
const SR = tok.features.sampleRate;

const n = Math.round(seconds * SR);
const audio = new Float32Array(n);
const evalDir = [opt('audio-dir', ''), '.cache/units-eval/eval', '.cache/units-eval-slt60/eval'].find((d) => d && existsSync(d));
let source = 'synthetic';
if (evalDir) {
  source = evalDir;
  let at = 0;
  for (const f of readdirSync(evalDir)
    .filter((f) => f.endsWith('.wav'))
    .sort()) {
    if (at >= n) break;
    const x = prepareAudio(readWavFile(join(evalDir, f)), SR);
    audio.set(x.subarray(0, n - at), at);
    at += x.length;
  }
} else {
  const r = mulberry32(1);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (120 + 40 * Math.sin(i / 4000))) / SR;
    audio[i] = 0.1 * (Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.3 * Math.sin(3 * phase)) + 0.01 * (r() - 0.5);
  }
}
const ids = tok.encode(audio);

type Gl = typeof griffinLim;
/** This process's CPU time (user + system), ms: steadier than wall time on a shared machine. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/**
 * tok.decode's steps: old = mel inversion of every frame + griffinLimReference; new = the memoised
 * `unitMagnitudes` (warm after the warm-up: a long-lived tokenizer) + griffinLim. Returns the audio
 * and the two parts' seconds.
 */
function decodeWith(gl: Gl): { y: Float32Array; mel: number; gl: number; wall: number } {
  const w0 = performance.now();
  const t0 = cpuMs();
  const f = smoothFrames(tok.unitsToLogMel(ids), vocoder.smoothing);
  const mag = gl === griffinLim && vocoder.smoothing === 0 ? tok.unitMagnitudes(ids, vocoder) : tok.logMelToMagnitude(f, vocoder);
  const t1 = cpuMs();
  const y = gl(mag, f.frames, tok.features, Math.max(1, (f.frames - 1) * tok.features.hopLength), {
    iterations: vocoder.griffinLimIterations,
    momentum: vocoder.momentum,
    seed: vocoder.seed,
  });
  const t2 = cpuMs();
  return { y, mel: (t1 - t0) / 1000, gl: (t2 - t1) / 1000, wall: (performance.now() - w0) / 1000 };
}

// warm-up (JIT), then alternate old and new so both see the same machine load
const yOld = decodeWith(griffinLimReference).y;
const yNew = decodeWith(griffinLim).y;
const times = {
  old: [] as number[],
  oldMel: [] as number[],
  oldGl: [] as number[],
  new: [] as number[],
  newMel: [] as number[],
  newGl: [] as number[],
  coldMel: [] as number[],
  oldWall: [] as number[],
  newWall: [] as number[],
};
for (let i = 0; i < runs; i++) {
  const a = decodeWith(griffinLimReference);
  times.old.push(a.mel + a.gl);
  times.oldMel.push(a.mel);
  times.oldGl.push(a.gl);
  times.oldWall.push(a.wall);
  const b = decodeWith(griffinLim);
  times.new.push(b.mel + b.gl);
  times.newMel.push(b.mel);
  times.newGl.push(b.gl);
  times.newWall.push(b.wall);
  // the first decode of a fresh tokenizer: nothing memoised yet
  const cold = new SpeechTokenizer(tok);
  const t0 = cpuMs();
  cold.unitMagnitudes(ids, vocoder);
  times.coldMel.push((cpuMs() - t0) / 1000);
}
// the shipped path is tok.decode: check it is the fast one (same samples)
const viaDecode = tok.decode(ids, { vocoder });
let d2 = 0;
let s2 = 0;
let decodeSame = viaDecode.length === yNew.length;
for (let i = 0; i < yNew.length; i++) {
  d2 += (yNew[i]! - yOld[i]!) ** 2;
  s2 += yOld[i]! ** 2;
  if (viaDecode[i] !== yNew[i]) decodeSame = false;
}
const audioSeconds = yNew.length / SR;
const part = (xs: number[]) => median(xs);
console.log(
  JSON.stringify({
    audioSeconds,
    units: ids.length,
    source,
    runs,
    griffinLimIterations: vocoder.griffinLimIterations,
    inversion: vocoder.inversion,
    old: {
      decodeSeconds: part(times.old),
      rtf: part(times.old) / audioSeconds,
      melSeconds: part(times.oldMel),
      griffinLimSeconds: part(times.oldGl),
      wallSeconds: part(times.oldWall),
    },
    new: {
      decodeSeconds: part(times.new),
      rtf: part(times.new) / audioSeconds,
      melSeconds: part(times.newMel),
      griffinLimSeconds: part(times.newGl),
      melSecondsFreshTokenizer: part(times.coldMel),
      wallSeconds: part(times.newWall),
    },
    speedup: part(times.old) / part(times.new),
    relRmsNewVsOld: Math.sqrt(d2 / s2),
    tokDecodeIsNew: decodeSame,
  }),
);
