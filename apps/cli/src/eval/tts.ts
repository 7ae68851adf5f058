/**
 * `zipper eval tts`: speech synthesis judged by an independent recognizer, as the paper does.
 *
 *   model:  text -> units (sampled, once per seed) -> audio (the speech tokenizer's vocoder)
 *           -> pocketsphinx -> WER against the gold text, and against the target
 *   oracle: gold units (the split's audio through the same tokenizer) -> vocoder -> pocketsphinx
 *           -> WER against the gold text: the ceiling of the units + vocoder
 *   target: the oracle's transcripts, used as references ("WER vs target")
 *
 * Every utterance is decoded alone with the seed itself (so its output does not depend on
 * --limit or on the other utterances). Reported statistic: the mean over seeds of the corpus WER
 * (`wer`), with the minimum and maximum (`werMin`, `werMax`) and every seed's counts.
 * Audio goes to pocketsphinx as 16 kHz mono 16-bit WAV; an empty output is 0.1 s of silence.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mean } from '@zipper/common';
import { initBackend } from '@zipper/core';
import { SpeechUnitEncoder } from '@zipper/data/node';
import { transcribeWavFiles } from '@zipper/eval/node';
import { speechVocab, tokensToUnits } from '@zipper/speech';
import { prepareAudio, writeWav } from '@zipper/tokenizers';
import { intArg, MAX_SEED, numArg, parse, probabilityArg, topPArg } from '../args.js';
import { UsageError } from '../command.js';
import { checkSpeechCrossWindow, emptyInputGuidance, speechCrossWindow, speechInputNoise } from '../fuse/trained-model.js';
import { EVAL_SPLITS, openModel, openSplit, parseSplit, TRAIN_SPLIT, trainPairsOf } from './inputs.js';
import {
  ensureDir,
  errorsOf,
  finish,
  intervalOf,
  intervalText,
  oracleRatioOf,
  pct,
  REF_FILE,
  scoreByVoice,
  writeLines,
  type OracleRatio,
  type Scored,
} from './outputs.js';

export const TTS_USAGE = `usage: zipper eval tts --model DIR|PACKAGE --data DIR --split ${EVAL_SPLITS.join('|')}|${TRAIN_SPLIT}
      [--seeds 0,1,2] [--temperature 1] [--top-k 0] [--top-p 1] [--guidance 0] [--unit-noise 0] [--cross-window 0]
      [--max-units N]
      [--voice NAME] [--limit N] [--keep 3] [--jobs N] [--out DIR] [--json]

Synthesizes the gold text of every utterance of the split (text -> units, sampled once per seed;
-> audio by the speech tokenizer's vocoder), transcribes the audio with pocketsphinx and scores
WER against the gold text and against the target (pocketsphinx's transcript of the gold units
through the vocoder). Oracle row: gold units -> vocoder -> pocketsphinx vs gold text. Reported:
the mean over seeds of the corpus WER (wer), min and max over seeds, every seed, per voice.
--split train: the model's own training sentences instead (aligned-tts at the run's fraction;
--data must be the run's build), to tell memorization from generalization. Keeps ref.txt, target.txt, hyp.seedN.txt, units.seedN.txt (the
sampled units, one utterance a line), utterances.jsonl, metrics.json and the WAVs of the
first --keep utterances (wav/ID.seedN.wav, wav/ID.oracle.wav) in --out (default
MODEL/eval/SPLIT/tts). --voice NAME: only the utterances in that voice (e.g. flite/slt, the TTS
voice, where the oracle's units are good; metrics.json records it), then --limit N the first N.
--guidance G: classifier-free guidance as zipper speak --guidance (recorded in metrics.json's sampling).
--unit-noise P: decode-time unit noise as zipper speak --unit-noise (recorded in sampling).
--cross-window W: the speech <- text links read only the text within W positions of their diagonal,
as zipper speak --cross-window (recorded in sampling).
--jobs: pocketsphinx processes (default 2).`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  split: { type: 'string' },
  seeds: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  guidance: { type: 'string' },
  'unit-noise': { type: 'string' },
  'cross-window': { type: 'string' },
  'max-units': { type: 'string' },
  limit: { type: 'string' },
  voice: { type: 'string' },
  keep: { type: 'string' },
  jobs: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export function parseSeeds(v: string | undefined): number[] {
  const seeds = (v ?? '0,1,2').split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0 || s > MAX_SEED))
    throw new UsageError(`--seeds takes integers in [0, ${MAX_SEED}] separated by commas (e.g. 0,1,2), got "${v}"`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds names a seed twice: "${v}"`);
  return seeds;
}

const RECOGNIZER_RATE = 16000;
/** 16 kHz mono 16-bit WAV bytes of `audio` at `rate`; empty audio becomes 0.1 s of silence. */
function recognizerWav(audio: Float32Array, rate: number): Uint8Array {
  const x =
    audio.length > 0
      ? prepareAudio({ sampleRate: rate, channels: [audio], encoding: 'float32' }, RECOGNIZER_RATE)
      : new Float32Array(RECOGNIZER_RATE / 10);
  return writeWav(x.length > 0 ? x : new Float32Array(RECOGNIZER_RATE / 10), RECOGNIZER_RATE, 'pcm16');
}

export async function runEvalTts(argv: readonly string[]): Promise<number> {
  const { values: v } = parse(argv, OPTIONS, TTS_USAGE);
  if (v.help) {
    console.log(TTS_USAGE);
    return 0;
  }
  const split = parseSplit(v.split, { train: true });
  const seeds = parseSeeds(v.seeds);
  const temperature = numArg(v.temperature, 'temperature', 1);
  const topK = intArg(v['top-k'], 'top-k', 0);
  const topP = topPArg(v['top-p']);
  const guidance = numArg(v.guidance, 'guidance', 0);
  const unitNoise = probabilityArg(v['unit-noise'], 'unit-noise');
  const crossWindow = numArg(v['cross-window'], 'cross-window', 0);
  const maxUnitsArg = v['max-units'] === undefined ? undefined : intArg(v['max-units'], 'max-units', 1, 1);
  const limit = v.limit === undefined ? undefined : intArg(v.limit, 'limit', 0, 1);
  const keep = intArg(v.keep, 'keep', 3);
  const jobs = intArg(v.jobs, 'jobs', 2, 1);
  if (!v.model) throw new UsageError(`--model DIR|PACKAGE is required\n\n${TTS_USAGE}`);
  const input = openSplit(v.data, split, { limit, voice: v.voice }, split === TRAIN_SPLIT ? trainPairsOf(v.model, 'tts') : undefined);
  await initBackend();
  const t0 = performance.now();
  const { dir, defaultOut, m } = await openModel(v.model);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-eval-tts-'));
  try {
    checkSpeechCrossWindow(m, crossWindow); // before the oracle's vocoding
    const out = path.resolve(v.out ?? path.join(defaultOut, split, 'tts'));
    ensureDir(path.join(out, 'wav'));
    const records = input.records;
    const { text: textRef, speech: speechRef } = m.run.towers;
    const maxTokens = (m.run.kind === 'fuse' ? textRef.config.maxSeqLen : (m.run.model.maxSeqLen ?? 0) - speechRef.config.maxSeqLen) - 2;
    if (maxTokens < 1) throw new UsageError(`${dir}: the model leaves no room for text input (maxSeqLen ${m.run.model.maxSeqLen})`);
    const tokens = records.map((r) => Array.from(m.text.encode(r.text)));
    const truncated = tokens.filter((t) => t.length > maxTokens).length;
    const kept = (i: number) => i < keep;
    const wavPath = (i: number, tag: string) => path.join(kept(i) ? path.join(out, 'wav') : tmp, `${records[i]!.id}.${tag}.wav`);

    // the oracle: gold units through the vocoder
    const encoder = new SpeechUnitEncoder(input.data, m.speech);
    const phases = { decode: 0, vocoder: 0, recognizer: 0 };
    const timed = <T>(phase: keyof typeof phases, f: () => T): T => {
      const t = performance.now();
      try {
        return f();
      } finally {
        phases[phase] += (performance.now() - t) / 1000;
      }
    };
    const vocode = (u: Uint16Array) =>
      timed('vocoder', () => recognizerWav(u.length > 0 ? m.speech.decode(u) : new Float32Array(0), m.speech.features.sampleRate));
    const gold = encoder.encodeAll(records);
    gold.forEach((u, i) => writeFileSync(wavPath(i, 'oracle'), vocode(u)));

    // the model: every utterance alone, once per seed
    const generated: { units: Uint16Array; finishReason: string; dropped: number }[][] = seeds.map(() => []);
    const guided = emptyInputGuidance(m, 'text', guidance);
    const vocab = speechVocab(m.speech.units.numUnits);
    let done = 0;
    for (const [k, seed] of seeds.entries()) {
      for (const [i, t] of tokens.entries()) {
        // the model's own decode (not TrainedModel.generate): a sampled segment may hold the speech
        // tower's bos, which is no unit; such ids are dropped before the vocoder and counted
        const maxNewTokens = maxUnitsArg ?? speechRef.config.maxSeqLen - 2;
        const tDecode = performance.now();
        const r = await m.model.generate([[m.segment('text', t.slice(0, maxTokens))]], {
          output: ['speech'],
          maxNewTokens,
          temperature,
          topK,
          topP,
          seed,
          ...guided,
          ...speechInputNoise(unitNoise),
          ...speechCrossWindow(crossWindow),
        });
        phases.decode += (performance.now() - tDecode) / 1000;
        const g = r.rows[0]![0]!;
        const units = tokensToUnits(vocab, g.ids);
        writeFileSync(wavPath(i, `seed${seed}`), vocode(units));
        generated[k]!.push({ units, finishReason: g.finishReason, dropped: g.ids.length - units.length });
        process.stderr.write(`\rsynthesized ${++done}/${seeds.length * records.length}`);
      }
    }
    process.stderr.write('\n');

    // one recognizer pass over every WAV: the oracle's, then each seed's
    const files = [...records.map((_, i) => wavPath(i, 'oracle')), ...seeds.flatMap((s) => records.map((_, i) => wavPath(i, `seed${s}`)))];
    const tRecognizer = performance.now();
    const heard = await transcribeWavFiles(files, { jobs });
    phases.recognizer = (performance.now() - tRecognizer) / 1000;
    const target = heard.slice(0, records.length);
    const hyps = seeds.map((_, k) => heard.slice((k + 1) * records.length, (k + 2) * records.length));

    const refs = records.map((r) => r.text);
    const voices = records.map((r) => r.voice);
    const oracle = scoreByVoice(refs, target, voices);
    const vsGold = hyps.map((h) => scoreByVoice(refs, h, voices));
    const vsTarget = hyps.map((h) => scoreByVoice(target, h, voices));
    const summary = (xs: readonly Scored[]) => ({
      wer: mean(xs.map((x) => x.wer)),
      werMin: Math.min(...xs.map((x) => x.wer)),
      werMax: Math.max(...xs.map((x) => x.wer)),
      cer: mean(xs.map((x) => x.cer)),
    });
    const ttsVoice = m.run.counts.ttsVoice;
    const ratioOver = (keep: (i: number) => boolean) =>
      oracleRatioOf(
        oracle.perUtterance,
        vsGold.map((x) => x.perUtterance),
        keep,
      );
    const oracleRatio = ratioOver(() => true);
    const ratioText = (x: OracleRatio) => `x${x.ratio.toFixed(2)} the oracle's (95% interval ${x.low.toFixed(2)} to ${x.high.toFixed(2)})`;
    const voiceRows = Object.fromEntries(
      Object.keys(oracle.voices).map((vName) => [
        vName,
        {
          utterances: oracle.voices[vName]!.utterances,
          words: oracle.voices[vName]!.words,
          ...summary(vsGold.map((s) => s.voices[vName]!)),
          oracle: oracle.voices[vName]!.wer,
          vsTarget: summary(vsTarget.map((s) => s.voices[vName]!)).wer,
          oracleRatio: ratioOver((i) => voices[i] === vName),
        },
      ]),
    );

    writeLines(path.join(out, REF_FILE), refs);
    writeLines(path.join(out, 'target.txt'), target);
    seeds.forEach((s, k) => writeLines(path.join(out, `hyp.seed${s}.txt`), hyps[k]!));
    seeds.forEach((s, k) =>
      writeLines(
        path.join(out, `units.seed${s}.txt`),
        generated[k]!.map((g) => g.units.join(' ')),
      ),
    );
    const rows = records.map((r, i) => ({
      id: r.id,
      voice: r.voice,
      ref: r.text,
      target: target[i],
      oracleErrors: errorsOf(oracle.perUtterance[i]!),
      goldUnits: gold[i]!.length,
      textTokens: tokens[i]!.length,
      seeds: seeds.map((seed, k) => ({
        seed,
        hyp: hyps[k]![i],
        units: generated[k]![i]!.units.length,
        finishReason: generated[k]![i]!.finishReason,
        droppedIds: generated[k]![i]!.dropped,
        errors: errorsOf(vsGold[k]!.perUtterance[i]!),
        errorsVsTarget: errorsOf(vsTarget[k]!.perUtterance[i]!),
      })),
      ...(kept(i) ? { wavs: [`wav/${r.id}.oracle.wav`, ...seeds.map((s) => `wav/${r.id}.seed${s}.wav`)] } : {}),
    }));
    writeFileSync(path.join(out, 'utterances.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const totalUnits = (k: number) => generated[k]!.reduce((a, g) => a + g.units.length, 0);
    const goldUnits = gold.reduce((a, u) => a + u.length, 0);
    const interval = intervalOf(vsGold.map((x) => x.perUtterance)); // of the mean over seeds, one draw of utterances for all
    const metrics = {
      task: 'tts',
      model: dir,
      kind: m.run.kind,
      split,
      manifest: input.manifest,
      manifestSha256: input.manifestSha256,
      ...(input.voice !== undefined ? { voice: input.voice } : {}),
      data: input.data.dir,
      statistic: 'mean over seeds of the corpus WER (werMin, werMax: over seeds)',
      ...summary(vsGold.map((s) => s.all)),
      interval,
      words: oracle.all.words,
      utterances: records.length,
      seeds,
      sampling: {
        temperature,
        topK,
        topP,
        ...(guidance > 0 ? { guidance } : {}),
        ...(unitNoise > 0 ? { unitNoise } : {}),
        ...(crossWindow > 0 ? { crossWindow } : {}),
        ...(maxUnitsArg ? { maxUnits: maxUnitsArg } : {}),
      },
      vsTarget: summary(vsTarget.map((s) => s.all)),
      oracle: oracle.all,
      oracleRatio,
      perSeed: seeds.map((seed, k) => ({
        seed,
        ...vsGold[k]!.all,
        vsTarget: vsTarget[k]!.all.wer,
        units: totalUnits(k),
        stopped: generated[k]!.filter((g) => g.finishReason === 'stop').length,
        droppedIds: generated[k]!.reduce((a, g) => a + g.dropped, 0),
      })),
      unitsRatio: mean(seeds.map((_, k) => totalUnits(k))) / Math.max(1, goldUnits),
      ttsVoice,
      voices: voiceRows,
      truncated,
      wavs: Math.min(keep, records.length),
      out,
      command: ['zipper eval tts', ...argv].join(' '),
      seconds: +((performance.now() - t0) / 1000).toFixed(1),
      phaseSeconds: Object.fromEntries(Object.entries(phases).map(([k, x]) => [k, +x.toFixed(1)])),
    };
    const s = summary(vsGold.map((x) => x.all));
    finish(
      out,
      metrics,
      `TTS ${split} (${m.run.kind}), ${seeds.length} seeds: WER ${pct(s.wer)} mean (min ${pct(s.werMin)}, max ${pct(s.werMax)}); vs target ${pct(metrics.vsTarget.wer)}; oracle ${pct(oracle.all.wer)}; ${records.length} utterances, ${oracle.all.words} words; mean WER ${intervalText(interval)}; ${ratioText(oracleRatio)}${voiceRows[ttsVoice] ? `; in the TTS voice ${ttsVoice} ${ratioText(voiceRows[ttsVoice].oracleRatio)}` : ''}`,
      v.json,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    m.dispose();
  }
  return 0;
}
