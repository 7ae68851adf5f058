import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SpeechTokenizer,
  loadSpeechTokenizer,
  logMelForUnitRate,
  prepareAudio,
  readWavFile,
  saveSpeechTokenizer,
  writeWav,
  type WavEncoding,
} from '@zipper/tokenizers';
import { fsReason, intArg, parse, readInputFile, seedArg, writeOutputFile } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';

const DEFAULT_TOKENIZER = 'packages/speech/assets/speech-units-default';

const USAGE = `usage:
  zipper units train --in IN [--in IN...] --out DIR [--units 512] [--rate 50] [--stack 2] [--mels 40]
                     [--seed 0] [--iterations 15] [--max-frames 40000] [--gl 64] [--max-bytes N]
  zipper units encode [--tokenizer DIR] --in a.wav [--out units.json]     unit ids (JSON)
  zipper units decode [--tokenizer DIR] --in units.json --out b.wav [--gl N]
  zipper units resynth [--tokenizer DIR] --in a.wav --out b.wav [--gl N]  audio -> units -> audio

IN is a .wav file, a text list of WAV paths (one a line), or a JSONL manifest whose records
have a "path" (relative to the manifest's folder, as \`zipper data build\` writes them).
Any WAV works: PCM 8/16/24/32-bit or float, any channels (averaged), any rate (resampled).
--rate is units per second: hop = sampleRate / (rate * stack) samples.
Without --tokenizer, the repo's default tokenizer (${DEFAULT_TOKENIZER}) is used.`;

const OPTIONS = {
  in: { type: 'string', multiple: true },
  out: { type: 'string' },
  tokenizer: { type: 'string' },
  units: { type: 'string' },
  rate: { type: 'string' },
  stack: { type: 'string' },
  mels: { type: 'string' },
  seed: { type: 'string' },
  iterations: { type: 'string' },
  'max-frames': { type: 'string' },
  gl: { type: 'string' },
  'max-bytes': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

/** WAV paths named by --in: files, lists (one path a line) and JSONL manifests ({"path": ...}). */
export function expandInputs(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    if (/\.wav$/i.test(input)) {
      out.push(input);
      continue;
    }
    const base = dirname(resolve(input));
    const lines = readInputFile(input, '--in')
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    for (const [i, line] of lines.entries()) {
      let path = line;
      if (line.startsWith('{')) {
        let rec: { path?: unknown };
        try {
          rec = JSON.parse(line) as { path?: unknown };
        } catch (e) {
          throw new UsageError(
            `${input}:${i + 1}: not valid JSON (${(e as Error).message}); a JSONL manifest has one {"path": ...} object per line`,
          );
        }
        if (rec === null || typeof rec !== 'object') throw new UsageError(`${input}:${i + 1}: expected a {"path": ...} object`);
        if (typeof rec.path !== 'string') throw new UsageError(`${input}:${i + 1}: manifest record has no "path"`);
        path = rec.path;
      }
      out.push(resolve(base, path));
    }
  }
  return out;
}

/** The repo's default tokenizer, looked up from the working directory and from this file upwards. */
function defaultTokenizerDir(): string {
  const starts = [process.cwd(), dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      const cand = join(dir, DEFAULT_TOKENIZER);
      if (existsSync(join(cand, 'speech-tokenizer.json'))) return cand;
      if (dirname(dir) === dir) break;
    }
  }
  throw new UsageError(
    `no --tokenizer given and the default (${DEFAULT_TOKENIZER}) was not found; pass --tokenizer DIR or train one with \`zipper units train\``,
  );
}

const tokenizerOf = (v: Values): SpeechTokenizer => loadSpeechTokenizer(v.tokenizer ?? defaultTokenizerDir());

function readMono(file: string, tok: { features: { sampleRate: number } } | number, v: Values): Float32Array {
  const maxBytes = v['max-bytes'] ? intArg(v['max-bytes'], 'max-bytes', 0, 1) : undefined;
  let audio;
  try {
    audio = readWavFile(file, maxBytes === undefined ? {} : { maxBytes });
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException)?.code === 'string') throw new UsageError(`cannot read --in ${file}: ${fsReason(e)}`);
    throw e;
  }
  return prepareAudio(audio, typeof tok === 'number' ? tok : tok.features.sampleRate);
}

function one(v: Values, what: string): string {
  if (v.in?.length !== 1) throw new UsageError(`units ${what} needs exactly one --in\n\n${USAGE}`);
  const file = v.in[0]!;
  let isFile: boolean | undefined;
  try {
    isFile = statSync(file).isFile();
  } catch (e) {
    throw new UsageError(`cannot read --in ${file}: ${fsReason(e)}`);
  }
  if (!isFile) throw new UsageError(`cannot read --in ${file}: not a regular file`);
  return file;
}

async function train(v: Values): Promise<number> {
  if (!v.in?.length || !v.out) throw new UsageError(`units train needs --in and --out\n\n${USAGE}`);
  const files = expandInputs(v.in);
  const stack = intArg(v.stack, 'stack', 2, 1);
  const rate = intArg(v.rate, 'rate', 50, 1);
  const features = logMelForUnitRate(rate, stack, { nMels: intArg(v.mels, 'mels', 40, 1) });
  const t0 = performance.now();
  const clips = files.map((f) => readMono(f, features.sampleRate, v));
  const seconds = clips.reduce((a, c) => a + c.length, 0) / features.sampleRate;
  console.error(`units train: ${files.length} files, ${seconds.toFixed(1)} s of audio`);
  const tok = SpeechTokenizer.train(clips, {
    features,
    units: { numUnits: intArg(v.units, 'units', 512, 1), stack },
    vocoder: { griffinLimIterations: intArg(v.gl, 'gl', 64, 0) },
    seed: seedArg(v.seed),
    iterations: intArg(v.iterations, 'iterations', 15, 0),
    maxFrames: intArg(v['max-frames'], 'max-frames', 40_000, 1),
    onIteration: (it, msd) => console.error(`  iteration ${it}: mean squared distance ${msd.toFixed(4)}`),
  });
  saveSpeechTokenizer(tok, v.out);
  console.log(
    JSON.stringify({
      out: v.out,
      files: files.length,
      seconds,
      unitRate: tok.unitRate,
      numUnits: tok.units.numUnits,
      stack: tok.units.stack,
      features: tok.features,
      trainFrames: tok.training?.trainFrames,
      finalMeanSquaredDistance: tok.training?.meanSquaredDistance.at(-1),
      trainSeconds: (performance.now() - t0) / 1000,
    }),
  );
  return 0;
}

async function encode(v: Values): Promise<number> {
  const file = one(v, 'encode');
  const tok = tokenizerOf(v);
  const x = readMono(file, tok, v);
  const units = tok.encode(x);
  const json = JSON.stringify({ unitRate: tok.unitRate, samples: x.length, sampleRate: tok.features.sampleRate, units: Array.from(units) });
  if (v.out) writeOutputFile(v.out, `${json}\n`, '--out');
  else console.log(json);
  return 0;
}

/** --out b.wav, checked before the work: required, and its folder must exist. */
function outPath(v: Values): string {
  if (!v.out) throw new UsageError(`--out b.wav is required\n\n${USAGE}`);
  const dir = dirname(resolve(v.out));
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`cannot write --out ${v.out}: the folder ${dir} does not exist; create it first`);
  return v.out;
}

function writeOut(v: Values, y: Float32Array, sampleRate: number): void {
  if (!v.out) throw new UsageError(`--out b.wav is required\n\n${USAGE}`);
  const encoding: WavEncoding = 'pcm16';
  writeOutputFile(v.out, writeWav(y, sampleRate, encoding), '--out');
}

async function decode(v: Values): Promise<number> {
  outPath(v);
  const file = one(v, 'decode');
  let parsed: { units?: unknown; samples?: unknown } | unknown[];
  try {
    parsed = JSON.parse(readInputFile(file, '--in').toString('utf8')) as { units?: unknown; samples?: unknown } | unknown[];
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `--in ${file}: not valid JSON (${(e as Error).message}); give what \`zipper units encode\` writes: {"units": [...]} or a JSON array of unit ids`,
    );
  }
  if (parsed === null || typeof parsed !== 'object')
    throw new UsageError(`--in ${file}: expected {"units": [...]} or a JSON array of unit ids`);
  const tok = tokenizerOf(v);
  const units = Array.isArray(parsed) ? parsed : parsed.units;
  if (!Array.isArray(units) || units.some((u) => typeof u !== 'number'))
    throw new UsageError('--in must hold a JSON array of unit ids or {"units": [...]} (what `units encode` writes)');
  const length = !Array.isArray(parsed) && typeof parsed.samples === 'number' ? parsed.samples : undefined;
  const y = tok.decode(units as number[], { length, vocoder: v.gl ? { griffinLimIterations: intArg(v.gl, 'gl', 64, 0) } : {} });
  writeOut(v, y, tok.features.sampleRate);
  console.log(JSON.stringify({ out: v.out, units: units.length, samples: y.length, seconds: y.length / tok.features.sampleRate }));
  return 0;
}

async function resynth(v: Values): Promise<number> {
  outPath(v);
  const file = one(v, 'resynth');
  const tok = tokenizerOf(v);
  const x = readMono(file, tok, v);
  const t0 = performance.now();
  const units = tok.encode(x);
  const t1 = performance.now();
  const y = tok.decode(units, { length: x.length, vocoder: v.gl ? { griffinLimIterations: intArg(v.gl, 'gl', 64, 0) } : {} });
  const t2 = performance.now();
  writeOut(v, y, tok.features.sampleRate);
  console.log(
    JSON.stringify({
      out: v.out,
      seconds: x.length / tok.features.sampleRate,
      units: units.length,
      unitRate: tok.unitRate,
      encodeMs: t1 - t0,
      decodeMs: t2 - t1,
    }),
  );
  return 0;
}

export const units: Command = {
  name: 'units',
  summary: 'speech units: train a k-means tokenizer, encode WAV -> units, decode units -> WAV, resynth',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (!sub) throw new UsageError(`which subcommand?\n\n${USAGE}`); // a usage error: on stderr, exit 2
    if (sub === '--help' || sub === '-h') {
      console.log(USAGE);
      return 0;
    }
    const { values } = parse(rest, OPTIONS, USAGE);
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const run = { train, encode, decode, resynth }[sub as 'train'];
    if (!run) throw new UsageError(`unknown "units ${sub}"\n\n${USAGE}`);
    return run(values); // typed tokenizer errors are printed by bin.ts without a stack trace
  },
};
