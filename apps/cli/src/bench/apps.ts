/**
 * `zipper bench asr|tts`: the speed users feel, as a real-time factor (seconds of compute per
 * second of audio; lower is better) on one core, over a fixed set of utterances: the bundled ones
 * (apps/cli/assets: sample.wav + bench/*.wav, 8 flite slt sentences, 25.2 s), or a split of a data
 * build (--data DIR --split S [--limit N]).
 *
 * One core: the engine runs single-threaded (wasm with 1 thread, the native GEMM with 1 thread:
 * `initBackend({ threads: 1, nativeThreads: 1 })`; no data-parallel worker is involved in
 * decoding) and the vocoder is JavaScript on the main thread; pocketsphinx runs as one process.
 *
 * asr: every utterance transcribed alone (audio -> units -> greedy text, as `zipper transcribe`
 *      does with one file), `--runs` times, alternating with pocketsphinx_batch over the same
 *      WAVs (one job: one process, its model load included) as the reference; rtf = median
 *      seconds / audio seconds for each, `ratio` = ours / pocketsphinx. WER of both against the
 *      text is reported too.
 * tts: every sentence synthesized alone (text -> sampled units with seed 0 -> vocoder, as
 *      `zipper speak` does), rtf = (decode + vocoder seconds) / seconds of speech produced, with
 *      the two parts; pocketsphinx's WER of the produced speech (intelligibility, untimed).
 * Both: model load seconds, peak RSS, targets (asr <= 0.1, tts <= 0.25) and whether they are met.
 * The last stdout line is one JSON object; progress goes to stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, roundTo as round } from '@zipper/common';
import { initBackend } from '@zipper/core';
import { scoreCorpus } from '@zipper/eval';
import { findPocketsphinx, transcribeWavFiles } from '@zipper/eval/node';
import { writeWav } from '@zipper/tokenizers';
import { intArg, parse } from '../args.js';
import { UsageError } from '../command.js';
import { benchUtterances, type Utterance } from '../apps/assets.js';
import { atRate, readAudioInput } from '../apps/audio-input.js';
import { DEFAULT_MODEL, openAppModel, type AppModel } from '../apps/model.js';
import { synthesize } from '../apps/synthesizer.js';
import { speechText } from '../apps/text-input.js';
import { transcribeAudio } from '../apps/transcriber.js';
import { EVAL_SPLITS, openSplit, parseSplit } from '../eval/inputs.js';
import { log, peakRssMb } from './common.js';

export const APPS_BENCH_USAGE = `usage: zipper bench asr|tts [--json] [--model DIR|PACKAGE] [--runs 3]
                    [--data DIR --split ${EVAL_SPLITS.join('|')}] [--limit N] [--max-units N]

Real-time factor (compute seconds / audio seconds, lower is better) of the apps on one core
(single-threaded engine), over the bundled utterances (apps/cli/assets: 8 flite slt sentences)
or the first --limit utterances of a data build's split (--data, --split).
  asr  each WAV transcribed alone; pocketsphinx_batch on the same WAVs in the same run, one
       process (reference.rtf, its model load included), alternating with ours, --runs times.
       Target: rtf <= 0.1.
  tts  each sentence synthesized alone (seed 0, temperature 1) including the vocoder; the
       produced speech is transcribed by pocketsphinx for its WER (not timed). Target: rtf <= 0.25.
--model: default ${DEFAULT_MODEL}. --max-units N (tts): units per sentence at most.
The last stdout line is one JSON object (rtf, reference.rtf for asr, load_seconds, peak_rss_mb).`;

const OPTIONS = {
  model: { type: 'string' },
  runs: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  'max-units': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const TARGETS = { asr: 0.1, tts: 0.25 } as const;

function utterancesOf(v: { data?: string; split?: string; limit?: string }): { set: string; items: Utterance[] } {
  const limit = v.limit === undefined ? undefined : intArg(v.limit, 'limit', 1, 1);
  if (v.data === undefined) {
    if (v.split !== undefined) throw new UsageError('--split needs --data DIR (a data build)');
    const all = benchUtterances();
    return { set: 'bundled', items: limit === undefined ? all : all.slice(0, limit) };
  }
  const split = parseSplit(v.split);
  const input = openSplit(v.data, split, { limit });
  return {
    set: `${input.data.dir} ${split}`,
    items: input.records.map((r) => ({ id: r.id, wav: input.data.audioPath(r), text: r.text })),
  };
}

/** Pocketsphinx's program, or why the reference is skipped. */
function pocketsphinx(): { program?: string; skipped?: string } {
  try {
    return { program: findPocketsphinx('batch') };
  } catch (e) {
    const skipped = (e as Error).message;
    log(`reference skipped: ${skipped}`);
    return { skipped };
  }
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

async function benchAsr(app: AppModel, items: readonly Utterance[], runs: number) {
  const rate = app.m.speech.features.sampleRate;
  const audio = items.map((u) => atRate(readAudioInput(u.wav), rate));
  const audioSeconds = audio.reduce((s, a) => s + a.seconds, 0);
  const ref = pocketsphinx();
  await transcribeAudio(app, audio.slice(0, 1)); // warm-up: kernels and caches
  const ours: number[] = [];
  const theirs: number[] = [];
  let hyps: string[] = [];
  let refHyps: string[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    hyps = [];
    for (const a of audio) hyps.push((await transcribeAudio(app, [a], { batch: 1 }))[0]!.text);
    ours.push(seconds(t0));
    log(`run ${r + 1}/${runs}: ours ${round(ours[r]! / audioSeconds, 4)} x real time`);
    if (ref.program) {
      const t1 = performance.now();
      refHyps = await transcribeWavFiles(
        items.map((u) => u.wav),
        { jobs: 1 },
      );
      theirs.push(seconds(t1));
      log(`run ${r + 1}/${runs}: pocketsphinx ${round(theirs[r]! / audioSeconds, 4)} x real time`);
    }
  }
  const texts = items.map((u) => u.text);
  const rtf = median(ours) / audioSeconds;
  const reference = ref.program
    ? {
        engine: 'pocketsphinx',
        program: ref.program,
        mode: 'batch',
        jobs: 1,
        includes: 'process start and acoustic model load, once per run',
        rtf: round(median(theirs) / audioSeconds, 4),
        seconds: round(median(theirs), 3),
        runs: theirs.map((x) => round(x / audioSeconds, 4)),
        wer: round(scoreCorpus(texts, refHyps).wer, 4),
      }
    : { skipped: ref.skipped };
  return {
    rtf,
    extra: {
      decode_seconds: round(median(ours), 3),
      audio_seconds: round(audioSeconds, 3),
      runs: ours.map((x) => round(x / audioSeconds, 4)),
      wer: round(scoreCorpus(texts, hyps).wer, 4),
      reference,
      ...(ref.program
        ? {
            ratio: round(rtf / (median(theirs) / audioSeconds), 3),
            ratio_meaning: 'ours / pocketsphinx real-time factor (lower is better)',
          }
        : {}),
    },
  };
}

async function benchTts(app: AppModel, items: readonly Utterance[], runs: number, maxUnits: number | undefined) {
  const texts = items.map((u) => speechText(u.text, `utterance ${u.id}`));
  const opts = { seed: 0, temperature: 1, ...(maxUnits === undefined ? {} : { maxUnits }) };
  await synthesize(app, texts[0]!, { ...opts, maxUnits: 8 }); // warm-up
  const per: { decode: number; vocoder: number; wall: number }[] = [];
  let produced: { audio: Float32Array; sampleRate: number; units: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    let decode = 0;
    let vocoder = 0;
    produced = [];
    for (const t of texts) {
      const s = await synthesize(app, t, opts);
      decode += s.decodeSeconds;
      vocoder += s.vocoderSeconds;
      produced.push(s);
    }
    per.push({ decode, vocoder, wall: seconds(t0) });
    const speech = produced.reduce((s, p) => s + p.audio.length / p.sampleRate, 0);
    log(`run ${r + 1}/${runs}: ${round(per[r]!.wall / speech, 4)} x real time (${round(speech, 2)} s of speech)`);
  }
  const speechSeconds = produced.reduce((s, p) => s + p.audio.length / p.sampleRate, 0);
  const wall = median(per.map((p) => p.wall));
  // intelligibility of what was produced (the last run; same seed, same audio every run), untimed
  const ref = pocketsphinx();
  let wer: number | { skipped: string } = { skipped: ref.skipped ?? '' };
  if (ref.program) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-bench-tts-'));
    try {
      const files = produced.map((p, i) => {
        const f = path.join(tmp, `u${i}.wav`);
        writeFileSync(f, writeWav(p.audio, p.sampleRate, 'pcm16'));
        return f;
      });
      wer = round(
        scoreCorpus(
          items.map((u) => u.text),
          await transcribeWavFiles(files, { jobs: 1 }),
        ).wer,
        4,
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return {
    rtf: wall / speechSeconds,
    extra: {
      speech_seconds: round(speechSeconds, 3),
      units: produced.reduce((s, p) => s + p.units, 0),
      seconds: round(wall, 3),
      decode_rtf: round(median(per.map((p) => p.decode)) / speechSeconds, 4),
      vocoder_rtf: round(median(per.map((p) => p.vocoder)) / speechSeconds, 4),
      runs: per.map((p) => round(p.wall / speechSeconds, 4)),
      wer_pocketsphinx: wer,
    },
  };
}

export async function benchApps(mode: 'asr' | 'tts', argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, APPS_BENCH_USAGE);
  if (v.help) {
    console.log(APPS_BENCH_USAGE);
    return 0;
  }
  const runs = intArg(v.runs, 'runs', 3, 1);
  if (v['max-units'] !== undefined && mode !== 'tts') throw new UsageError('--max-units applies to `bench tts` only');
  const maxUnits = v['max-units'] === undefined ? undefined : intArg(v['max-units'], 'max-units', 1, 1);
  const { set, items } = utterancesOf(v);
  const info = await initBackend({ threads: 1, nativeThreads: 1 });
  const app = await openAppModel(v.model);
  try {
    log(`bench ${mode}: ${items.length} utterances (${set}), model ${app.location} loaded in ${round(app.loadSeconds, 2)} s`);
    const r = mode === 'asr' ? await benchAsr(app, items, runs) : await benchTts(app, items, runs, maxUnits);
    const result = {
      mode,
      rtf: round(r.rtf, 4),
      target: TARGETS[mode],
      met: r.rtf <= TARGETS[mode],
      model: app.location,
      dir: app.dir,
      kind: app.m.run.kind,
      set,
      utterances: items.length,
      median_of: runs,
      ...r.extra,
      load_seconds: round(app.loadSeconds, 3),
      peak_rss_mb: peakRssMb(),
      backend: info.backend,
      threads: info.threads,
      native: info.native.used
        ? { used: true, isa: info.native.isa, threads: info.native.threads }
        : { used: false, reason: info.native.reason },
    };
    if (!v.json) log(`${mode}: real-time factor ${result.rtf} (target <= ${result.target}: ${result.met ? 'met' : 'not met'})`);
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    app.m.dispose();
  }
}
