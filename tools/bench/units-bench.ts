/**
 * Speed of speech featurize + quantize (log-mel + nearest of K centroids) on one core, against a
 * PyTorch reference (tools/bench/units_ref.py, torch.set_num_threads(1)) measured in the same run
 * on the same audio, mel matrix and centroids. Prints JSON: medians, x real time, ratio, and how
 * many unit ids the two agree on.
 *
 *   npx vite-node -c vitest.config.ts tools/bench/units-bench.ts -- [--tokenizer DIR] [--seconds 30] [--runs 7]
 *
 * Without --tokenizer: the default config (16 kHz, hop 160, 40 mels, stack 2, 512 units) with
 * centroids drawn from the audio's own unit vectors (timing does not depend on their values).
 * Audio: the WAVs of .cache/units-eval/eval (tools/speech/synth-corpus.mjs) concatenated, or a
 * synthetic harmonic signal when that folder is missing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SpeechTokenizer,
  filterbankOf,
  loadSpeechTokenizer,
  prepareAudio,
  readWavFile,
  resolveLogMelConfig,
  stackFrames,
  logMel,
  nearestCentroids,
  CentroidIndex,
  rowSquaredNorms,
} from '@zipper/tokenizers';
import { median, mulberry32 } from '@zipper/common';
import { requireTorchPython, torchEnv } from '../setup/system.mjs';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const seconds = Number(opt('seconds', '30'));
const runs = Number(opt('runs', '7'));
const tokDir = opt('tokenizer', '');
const evalDir = opt('audio-dir', '.cache/units-eval/eval');

const SR = 16000;
const n = Math.round(seconds * SR);
const audio = new Float32Array(n);
let source = 'synthetic';
if (existsSync(evalDir)) {
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

let tok: SpeechTokenizer;
if (tokDir) tok = loadSpeechTokenizer(tokDir);
else {
  const features = resolveLogMelConfig({});
  const f = logMel(audio, features);
  const v = stackFrames(f.data, f.frames, f.dim, 2);
  const r = mulberry32(2);
  const K = 512;
  const c = new Float32Array(K * v.dim);
  for (let k = 0; k < K; k++) {
    const u = Math.floor(r() * v.frames);
    c.set(v.data.subarray(u * v.dim, (u + 1) * v.dim), k * v.dim);
  }
  tok = new SpeechTokenizer({ features, units: { numUnits: K, stack: 2 }, centroids: c });
}

tok.encode(audio); // warm-up (JIT)
const ids = tok.encode(audio);
const times: number[] = [];
const featTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  tok.featurize(audio);
  const t1 = performance.now();
  tok.encode(audio);
  const t2 = performance.now();
  featTimes.push((t1 - t0) / 1000);
  times.push((t2 - t1) / 1000);
}

// the blocked brute-force search on the same unit vectors, for the CentroidIndex speed-up
const vecs = tok.unitVectors(audio);
const norms = rowSquaredNorms(tok.centroids, tok.units.numUnits, tok.dim);
const bruteIds = new Int32Array(vecs.frames);
const index = new CentroidIndex(tok.centroids, tok.units.numUnits, tok.units.stack, tok.features.nMels);
const indexIds = new Int32Array(vecs.frames);
const bruteTimes: number[] = [];
const indexTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  nearestCentroids(vecs.data, vecs.frames, vecs.dim, tok.centroids, tok.units.numUnits, norms, bruteIds);
  const t1 = performance.now();
  index.nearest(vecs.data, vecs.frames, indexIds);
  const t2 = performance.now();
  bruteTimes.push((t1 - t0) / 1000);
  indexTimes.push((t2 - t1) / 1000);
}
let bruteSame = 0;
for (let i = 0; i < ids.length; i++) if (indexIds[i] === bruteIds[i] && ids[i] === bruteIds[i]) bruteSame++;

const dir = mkdtempSync(join(tmpdir(), 'zipper-units-bench-'));
writeFileSync(join(dir, 'audio.f32'), new Uint8Array(audio.buffer));
writeFileSync(join(dir, 'mel.f32'), new Uint8Array(Float32Array.from(filterbankOf(tok.features).weights).buffer));
writeFileSync(join(dir, 'centroids.f32'), new Uint8Array(tok.centroids.buffer, tok.centroids.byteOffset, tok.centroids.byteLength));
writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tok.features, ...tok.units }));
const ref = JSON.parse(
  execFileSync(requireTorchPython(), [join(import.meta.dirname, 'units_ref.py'), dir, String(runs)], {
    env: torchEnv(),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  }),
) as {
  torch: string;
  threads: number;
  medianSeconds: number;
  ids: number[];
};
let agree = 0;
for (let i = 0; i < ids.length; i++) if (ids[i] === ref.ids[i]) agree++;

const ours = median(times);
console.log(
  JSON.stringify(
    {
      bench: 'units featurize+quantize',
      audio: { source, seconds },
      config: { ...tok.features, ...tok.units, unitRate: tok.unitRate },
      runs,
      ours: {
        medianSeconds: ours,
        xRealTime: seconds / ours,
        featurizeOnlyMedianSeconds: median(featTimes),
        featurizeOnlyXRealTime: seconds / median(featTimes),
      },
      torch: { version: ref.torch, threads: ref.threads, medianSeconds: ref.medianSeconds, xRealTime: seconds / ref.medianSeconds },
      speedVsTorch: ref.medianSeconds / ours,
      unitIdAgreement: { same: agree, total: ids.length, lengthMatches: ids.length === ref.ids.length },
      search: {
        exactScoresPerVector: index.stats().exactPerVector,
        numUnits: tok.units.numUnits,
        bruteForceQuantizeMedianSeconds: median(bruteTimes),
        indexQuantizeMedianSeconds: median(indexTimes),
        sameIdsAsBruteForce: bruteSame,
        total: ids.length,
      },
    },
    null,
    2,
  ),
);
