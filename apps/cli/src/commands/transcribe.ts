/**
 * `zipper transcribe FILE.wav [FILE2.wav ...]`: speech recognition with a zipped model (default:
 * the shipped @zipper/checkpoint-zipper-small). Every file is checked before the model loads.
 */
import path from 'node:path';
import { roundTo as round } from '@zipper/common';
import { initBackend } from '@zipper/core';
import { intArg, parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { atRate, MAX_AUDIO_SECONDS, MAX_WAV_BYTES, readAudioInput } from '../apps/audio-input.js';
import { DEFAULT_MODEL, openAppModel } from '../apps/model.js';
import { appProgress } from '../apps/progress.js';
import { APP_DECODERS, LEXICON_SEARCH_OPTIONS, lexiconSearchArgs, transcribeAudio, type AppDecoder } from '../apps/transcriber.js';

const USAGE = `usage: zipper transcribe FILE.wav [FILE2.wav ...] [--model DIR|PACKAGE] [--decoder auto|lexicon|ctc|attention|joint] [--lm FILE]
      [--beam N] [--lm-weight W] [--word-bonus B] [--blank-penalty P] [--rescore W] [--n-best N] [--oov-byte-log-prob L]
      [--dictionary-word-log-prob D] [--views K] [--level-range R] [--level-down D] [--json] [--batch 8]

Prints the transcript of each WAV file: for one file the transcript alone, for several one line
per file, "FILE: transcript", in the order given. --json: one JSON object (the last stdout line)
with every file's text, seconds, units, pieces and finish reason (and with the lexicon search
unknownWords: its words neither the word LM nor its dictionary holds, and dictionaryWords: its words
from the dictionary), the model and the timings.
--model: the --out of zipper fuse train (run.json + model/) or a checkpoint package
(default ${DEFAULT_MODEL}, installed by npm ci in the repository).
Input: WAV (PCM 8/16/24/32-bit or float, any rate and channels: mixed to mono and resampled),
${MAX_AUDIO_SECONDS} s per file at most (MAX_AUDIO_SECONDS) and ${MAX_WAV_BYTES / 2 ** 20} MB; audio longer than the model's
speech context (11.5 s for zipper-small) is cut at pauses and the pieces' transcripts joined.
--decoder: auto (default) picks the best the model has, measured on dev (docs/results.md):
lexicon, else ctc, else attention. lexicon: the CTC head's beam search spelling only words of a
word LM (the text tower package's lm.safetensors, or --lm FILE from zipper lm build) and scoring
them with it, with the search settings the model carries (zipper fuse release --word-bonus ...) or
else the search's defaults (--beam, --lm-weight, --word-bonus, --blank-penalty, --rescore, --n-best,
--oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range, --level-down override them, as in zipper eval asr;
--oov-byte-log-prob none and --dictionary-word-log-prob none turn the model's own costs off); ctc: greedy decoding of the CTC head (a model trained with --ctc-weight); attention:
the text tower decodes through cross-attention (the paper's decoder); joint: joint CTC/attention
beam search (beam 4, score 0.7 * text tower + 0.3 * CTC head; zipper eval asr tunes both).
--rescore W (lexicon, or auto when it picks lexicon): re-rank the search's --n-best N transcripts
(default 8) by adding W x the zipped text tower's log-probability of each (two-pass decoding; not
in the paper; about 3x the search's decoding time; docs/zipper.md, "Rescoring"). The shipped model
carries W 0.3 over the 16 best (chosen on the dev sets); --rescore 0 decodes with the search alone.
--views K (lexicon): decode K views of the audio, the first K of: as is, delayed 5 ms, 3% slower, 3%
faster, delayed 2.5, 7.5 and 10 ms (@zipper/tokenizers AUDIO_VIEWS), and vote their transcripts word
by word against the first (@zipper/eval voteTranscripts; not in the paper; K times the decoding
time; docs/zipper.md, "Voting over views"); --views 1: the audio alone.
--level-range R (lexicon; 0-20 dB): scale each file by the whole-dB gain within +-R whose units lie
nearest the codebook's centroids (@zipper/tokenizers fitLevel; not in the paper; a recording quieter
or louder than the training audio otherwise reads worse; docs/zipper.md, "Fitting the level"),
before the views; --level-range 0: the audio as recorded; --level-down D (with a range): the most dB it
may turn the audio down (default R; 0: only up).
The decoder used is in --json's "decoder" (and the lexicon search's views in "views", the gain
the level fit applied in "levelDb").
--batch N: pieces decoded together (equal lengths share the work; default 8).
Progress goes to stderr on a terminal only. Exit 0 ok, 2 bad input or options, 1 other failures.`;

const OPTIONS = {
  model: { type: 'string' },
  json: { type: 'boolean', default: false },
  batch: { type: 'string' },
  decoder: { type: 'string' },
  lm: { type: 'string' },
  ...LEXICON_SEARCH_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const transcribe: Command = {
  name: 'transcribe',
  summary: 'speech recognition: print the transcript of WAV files (zipped model, default the shipped one)',
  async run(argv) {
    const { values: v, positionals: files } = parse(argv, OPTIONS, USAGE, { positionals: true });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    if (files.length === 0) throw new UsageError(`which WAV file(s)?\n\n${USAGE}`);
    const batch = intArg(v.batch, 'batch', 8, 1);
    if (batch > 256) throw new UsageError(`--batch must be at most 256, got "${v.batch}"`);
    const decoder = (v.decoder ?? 'auto') as AppDecoder;
    if (!APP_DECODERS.includes(decoder)) throw new UsageError(`--decoder takes ${APP_DECODERS.join(', ')}; got "${v.decoder}"`);
    const search = lexiconSearchArgs(v);
    if ((v.lm !== undefined || Object.keys(search).length > 0) && decoder !== 'auto' && decoder !== 'lexicon')
      throw new UsageError(
        '--lm, --beam, --lm-weight, --word-bonus, --blank-penalty, --rescore, --n-best, --oov-byte-log-prob, --dictionary-word-log-prob, --views, --level-range and --level-down are for --decoder lexicon (or auto)',
      );
    const checked = files.map((f) => readAudioInput(f));
    await initBackend();
    const app = await openAppModel(v.model);
    try {
      const inputs = checked.map((c) => atRate(c, app.m.speech.features.sampleRate));
      const progress = appProgress();
      const t0 = performance.now();
      const out = await transcribeAudio(app, inputs, {
        batch,
        decoder,
        ...(v.lm !== undefined ? { lm: v.lm } : {}),
        ...(Object.keys(search).length > 0 ? { search } : {}),
        onProgress: (done, total) => progress.update(`transcribing: ${done}/${total} pieces`),
      });
      const decodeSeconds = (performance.now() - t0) / 1000;
      progress.done();
      const audioSeconds = out.reduce((s, t) => s + t.seconds, 0);
      if (v.json) {
        console.log(
          JSON.stringify({
            model: app.location,
            dir: app.dir,
            decoder: out[0]!.decoder,
            results: out.map((t) => ({ ...t, file: path.resolve(t.file), seconds: round(t.seconds, 3) })),
            audio_seconds: round(audioSeconds, 3),
            load_seconds: round(app.loadSeconds, 3),
            decode_seconds: round(decodeSeconds, 3),
            rtf: round(decodeSeconds / audioSeconds, 4),
          }),
        );
      } else if (out.length === 1) console.log(out[0]!.text);
      else for (const t of out) console.log(`${t.file}: ${t.text}`);
    } finally {
      app.m.dispose();
    }
    return 0;
  },
};
