/**
 * `zipper speak "text" --out FILE.wav` and `zipper speak --in FILE.txt --out DIR`: speech
 * synthesis with a zipped model (default: the shipped @zipper/checkpoint-zipper-small). All text
 * is checked and normalized before the model loads.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { roundTo as round } from '@zipper/common';
import { initBackend } from '@zipper/core';
import { writeWav } from '@zipper/tokenizers';
import { intArg, numArg, parse, probabilityArg, readInputFile, seedArg, topPArg, writeOutputFile } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { DEFAULT_MODEL, openAppModel, type AppModel } from '../apps/model.js';
import { makeOutDir } from '../apps/out-dir.js';
import { checkSpeechCrossWindow } from '../fuse/trained-model.js';
import { appProgress } from '../apps/progress.js';
import { synthesize, type SpeakOptions } from '../apps/synthesizer.js';
import {
  describeDropped,
  MAX_CHUNK_WORDS,
  MAX_TEXT_CHARS,
  MAX_TEXT_LINES,
  speechText,
  textLines,
  type SpeechText,
} from '../apps/text-input.js';

const USAGE = `usage: zipper speak "text" --out FILE.wav [--model DIR|PACKAGE] [--seed N] [--json]
       zipper speak --in FILE.txt --out DIR [...]       one WAV per non-blank line: DIR/<line number>.wav
      [--temperature 1] [--top-k 0] [--top-p 1] [--guidance 0] [--unit-noise 0] [--cross-window 0] [--max-units N]

Writes speech (16 kHz mono 16-bit WAV) of English text with a zipped model.
--model: the --out of zipper fuse train (run.json + model/) or a checkpoint package
(default ${DEFAULT_MODEL}, installed by npm ci in the repository).
Text is normalized as the training data was (docs/data.md): numbers and & % spelled out,
lowercase words over a-z and '; characters the model never saw (@ # < > ..., letters outside
ASCII after accents are removed) are dropped with a warning on stderr. At most ${MAX_TEXT_CHARS} characters
per text or line and ${MAX_TEXT_LINES} lines; text is split into sentences, and sentences longer than ${MAX_CHUNK_WORDS}
words (the training sentences' limit) into parts, each decoded alone with --seed.
Sampling: --temperature 1 (what zipper eval tts measures), --top-k, --top-p; the same --seed
gives the same WAV bytes. --guidance G: classifier-free guidance (beyond the paper): units are
sampled from cond + G * (cond - uncond), uncond the model's prediction after an empty text (twice
the decoding time; default 0, none). --unit-noise P (beyond the paper): each generated unit is fed
back to the model, with probability P, as a random unit (the WAV keeps the generated ones): the
decode-side twin of zipper fuse train --unit-noise (default 0, none). --cross-window W (beyond the paper):
each speech position reads only the text within W positions of its cross-rope diagonal (default 0,
none; docs/zipper.md, "Cross windows"). --max-units N: units per sentence at most (50 a second; default the
model's speech context, 11.5 s for zipper-small).
--json: one JSON object (the last stdout line). Progress on stderr on a terminal only.
Exit 0 ok, 2 bad input or options, 1 other failures.`;

/** Largest --in file read: MAX_TEXT_LINES lines of MAX_TEXT_CHARS characters of up to 4 bytes each. */
const MAX_IN_BYTES = 4 * MAX_TEXT_CHARS * MAX_TEXT_LINES;

const OPTIONS = {
  model: { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  guidance: { type: 'string' },
  'unit-noise': { type: 'string' },
  'cross-window': { type: 'string' },
  'max-units': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

interface Written {
  readonly out: string;
  readonly line?: number;
  readonly text: string;
  readonly chunks: number;
  readonly units: number;
  readonly seconds: number;
  readonly finishReason: string;
  readonly decodeSeconds: number;
  readonly vocoderSeconds: number;
}

async function speakTo(app: AppModel, text: SpeechText, out: string, o: SpeakOptions, line?: number): Promise<Written> {
  const s = await synthesize(app, text, o);
  writeOutputFile(out, writeWav(s.audio, s.sampleRate, 'pcm16'), '--out');
  return {
    out: path.resolve(out),
    ...(line === undefined ? {} : { line }),
    text: text.chunks.join(' '),
    chunks: s.chunks,
    units: s.units,
    seconds: round(s.audio.length / s.sampleRate, 3),
    finishReason: s.finishReason,
    decodeSeconds: s.decodeSeconds,
    vocoderSeconds: s.vocoderSeconds,
  };
}

export const speak: Command = {
  name: 'speak',
  summary: 'speech synthesis: write a WAV of English text (zipped model, default the shipped one)',
  async run(argv) {
    const { values: v, positionals } = parse(argv, OPTIONS, USAGE, { positionals: true });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length > 1)
      throw new UsageError(`give the text as one argument (quote it: zipper speak "the text" --out a.wav), got ${positionals.length}`);
    if ((positionals.length === 1) === (v.in !== undefined))
      throw new UsageError(`give exactly one input: "text" or --in FILE.txt\n\n${USAGE}`);
    if (!v.out) throw new UsageError(`--out is required (FILE.wav for a text, DIR for --in)\n\n${USAGE}`);
    const o: SpeakOptions = {
      seed: seedArg(v.seed),
      temperature: numArg(v.temperature, 'temperature', 1),
      topK: intArg(v['top-k'], 'top-k', 0),
      topP: topPArg(v['top-p']),
      guidance: numArg(v.guidance, 'guidance', 0),
      unitNoise: probabilityArg(v['unit-noise'], 'unit-noise'),
      crossWindow: numArg(v['cross-window'], 'cross-window', 0),
      ...(v['max-units'] === undefined ? {} : { maxUnits: intArg(v['max-units'], 'max-units', 1, 1) }),
    };

    // every text is checked before the model loads
    const jobs: { text: SpeechText; out: string; line?: number }[] = [];
    if (v.in !== undefined) {
      let size = 0;
      try {
        size = statSync(v.in).size;
      } catch {
        // readInputFile says why it cannot be read
      }
      if (size > MAX_IN_BYTES)
        throw new UsageError(
          `--in ${v.in} is ${size} bytes, above the limit of ${MAX_IN_BYTES} (${MAX_TEXT_LINES} lines of ${MAX_TEXT_CHARS} characters); split it`,
        );
      const content = readInputFile(v.in, '--in');
      const lines = textLines(new TextDecoder('utf-8', { fatal: false }).decode(content), v.in);
      const width = Math.max(3, String(lines.at(-1)!.line).length);
      for (const l of lines) jobs.push({ text: l.text, out: path.join(v.out, `${String(l.line).padStart(width, '0')}.wav`), line: l.line });
    } else {
      let isDir = false;
      try {
        isDir = statSync(v.out).isDirectory();
      } catch {
        // does not exist yet: written below
      }
      if (isDir) throw new UsageError(`--out ${v.out} is a folder; pass the WAV file to write (a folder is for --in FILE.txt)`);
      jobs.push({ text: speechText(positionals[0]!, 'the text'), out: v.out });
    }
    const dropped = [...new Set(jobs.flatMap((j) => j.text.dropped))];
    if (dropped.length > 0) process.stderr.write(`zipper: dropped characters the model never saw: ${describeDropped(dropped)}\n`);
    if (v.in !== undefined) makeOutDir(v.out);

    await initBackend();
    const app = await openAppModel(v.model);
    const progress = appProgress();
    const written: Written[] = [];
    try {
      checkSpeechCrossWindow(app.m, o.crossWindow ?? 0);
      for (const [i, j] of jobs.entries()) {
        const w = await speakTo(
          app,
          j.text,
          j.out,
          {
            ...o,
            onChunk: (done, total) => progress.update(`speaking: ${i + 1}/${jobs.length}${total > 1 ? `, sentence ${done}/${total}` : ''}`),
          },
          j.line,
        );
        written.push(w);
        if (!v.json) {
          progress.done();
          console.log(
            `wrote ${w.out}: ${w.seconds} s of speech (${w.units} units${w.finishReason === 'stop' ? '' : ', cut at the unit limit'})`,
          );
        }
      }
    } finally {
      progress.done();
      app.m.dispose();
    }
    if (v.json) {
      const seconds = written.reduce((s, w) => s + w.seconds, 0);
      const decode = written.reduce((s, w) => s + w.decodeSeconds, 0);
      const vocoder = written.reduce((s, w) => s + w.vocoderSeconds, 0);
      const files = written.map((w) => ({ ...w, decodeSeconds: round(w.decodeSeconds, 3), vocoderSeconds: round(w.vocoderSeconds, 3) }));
      console.log(
        JSON.stringify({
          model: app.location,
          dir: app.dir,
          seed: o.seed,
          temperature: o.temperature,
          guidance: o.guidance,
          unit_noise: o.unitNoise,
          cross_window: o.crossWindow,
          dropped,
          ...(v.in === undefined ? files[0] : { out: path.resolve(v.out), files }),
          audio_seconds: round(seconds, 3),
          load_seconds: round(app.loadSeconds, 3),
          decode_seconds: round(decode, 3),
          vocoder_seconds: round(vocoder, 3),
          rtf: round((decode + vocoder) / seconds, 4),
        }),
      );
    }
    return 0;
  },
};
