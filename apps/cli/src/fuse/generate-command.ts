/**
 * `zipper fuse generate`: decode with a trained fused run (zipped or single decoder): ASR prints
 * the transcript of a WAV file, TTS writes the speech of a sentence as a WAV file.
 */
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { readWavFile, writeWav } from '@zipper/tokenizers';
import { intArg, numArg, parse, seedArg, topPArg, writeOutputFile } from '../args.js';
import { UsageError } from '../command.js';
import { normalizeSentence } from '../data/normalize.js';
import { loadTrainedModel } from './trained-model.js';
import { parseTowerOptions, type Modality } from './towers.js';

export const GENERATE_USAGE = `usage:
  zipper fuse generate --model DIR --in FILE.wav --output text [--json]                 speech recognition
  zipper fuse generate --model DIR --text "..." --output speech --out FILE.wav [--json]  speech synthesis
      [--temperature T] [--top-k K] [--top-p P] [--seed N] [--max-tokens N] [--tower NAME=DIR]

DIR is the --out of zipper fuse train or zipper baseline train (run.json + model/); its towers
are loaded from where run.json says (verified by sha256; --tower text=DIR overrides a moved one).
--in: a WAV file (any rate, resampled), turned into units by the speech tower's tokenizer.
--text: normalized as the data builder does (lowercase words over a-z and '; docs/data.md).
Output text: the transcript on stdout. Output speech: units -> audio by the speech tokenizer's
vocoder, written to --out. Sampling: greedy by default (--temperature 0); --seed fixes a sampled
output. --json: one JSON line with the result.`;

const OPTIONS = {
  model: { type: 'string' },
  in: { type: 'string' },
  text: { type: 'string' },
  output: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'max-tokens': { type: 'string' },
  tower: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The sentence as the towers saw text in training; a sentence the builder's rule rejects is lowercased and stripped instead. */
function normalizeInput(raw: string): string {
  return (
    normalizeSentence(raw) ??
    raw
      .toLowerCase()
      .replace(/[^a-z']+/g, ' ')
      .trim()
  );
}

export async function runFusedGenerate(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, GENERATE_USAGE);
  if (v.help) {
    console.log(GENERATE_USAGE);
    return 0;
  }
  if (!v.model) throw new UsageError(`--model DIR is required\n\n${GENERATE_USAGE}`);
  if (v.output !== 'text' && v.output !== 'speech')
    throw new UsageError(
      `--output must be text or speech, got ${v.output === undefined ? 'nothing' : `"${v.output}"`}\n\n${GENERATE_USAGE}`,
    );
  if ((v.in === undefined) === (v.text === undefined))
    throw new UsageError(`give exactly one input: --in FILE.wav (speech) or --text "..." (text)\n\n${GENERATE_USAGE}`);
  const output: Modality = v.output;
  if (output === 'speech' && !v.out) throw new UsageError('--output speech needs --out FILE.wav');
  const temperature = numArg(v.temperature, 'temperature', 0);
  const topK = intArg(v['top-k'], 'top-k', 0);
  const topP = topPArg(v['top-p']);
  const seed = seedArg(v.seed);
  const maxNewTokens = v['max-tokens'] === undefined ? undefined : intArg(v['max-tokens'], 'max-tokens', 1, 1);
  const towers = parseTowerOptions(v.tower, { optional: true });
  let audio;
  if (v.in !== undefined) {
    try {
      audio = readWavFile(v.in);
    } catch (e) {
      if ((e as NodeJS.ErrnoException)?.code) throw new UsageError(`cannot read --in ${v.in}: ${(e as Error).message}`);
      throw e;
    }
  }

  await initBackend();
  const t0 = performance.now();
  const m = await loadTrainedModel(v.model, towers);
  try {
    const text = v.text === undefined ? undefined : normalizeInput(v.text);
    if (text === '') throw new UsageError(`--text "${v.text}" holds no word (after normalization to a-z and ')`);
    const input = audio ? m.segment('speech', m.units(audio)) : m.segment('text', m.text.encode(text!));
    const [row] = await m.generate([[input]], output, { temperature, topK, topP, seed, ...(maxNewTokens ? { maxNewTokens } : {}) });
    const seconds = +((performance.now() - t0) / 1000).toFixed(2);
    const base = {
      kind: m.run.kind,
      model: path.resolve(v.model),
      input: audio ? { wav: path.resolve(v.in!), units: input.ids.length - 2 } : { text, tokens: input.ids.length - 2 },
      seconds,
    };
    if (row!.output === 'text') {
      if (v.json)
        console.log(JSON.stringify({ ...base, output: 'text', text: row!.text, tokens: row!.ids.length, finishReason: row!.finishReason }));
      else console.log(row!.text);
    } else {
      writeOutputFile(v.out!, writeWav(row!.audio, row!.sampleRate), '--out');
      const info = {
        ...base,
        output: 'speech',
        out: path.resolve(v.out!),
        units: row!.units.length,
        audioSeconds: +(row!.audio.length / row!.sampleRate).toFixed(2),
        finishReason: row!.finishReason,
      };
      if (v.json) console.log(JSON.stringify(info));
      else process.stderr.write(`wrote ${info.out}: ${info.units} units, ${info.audioSeconds} s (${info.finishReason})\n`);
    }
  } finally {
    m.dispose();
  }
  return 0;
}
