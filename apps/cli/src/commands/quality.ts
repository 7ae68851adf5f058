/**
 * `zipper quality text|speech`: the held-out comparison of a pretrained tower's model card. On the
 * held-out documents `zipper pretrain` defined (apps/cli/src/pretrain/prepare.ts: dev transcripts
 * for text, the tail of speech-only for speech), with the tower's own tokenizer:
 *
 *   tower:      every document `<bos> t_1 .. t_n <eos>` from its start; targets t_1 .. t_n, <eos>
 *   Kneser-Ney: @zipper/eval's KneserNeyLM (modified KN, --order) trained on the same training
 *               documents, scoring `<s> t_1 .. t_n </s>`: targets t_1 .. t_n, </s>
 *
 * so both predict the same n + 1 targets per document (checked: equal counts). A document longer
 * than the tower's maxSeqLen is scored in windows of maxSeqLen inputs moved by half a window;
 * each target is counted once, in the first window that holds it (>= maxSeqLen / 2 tokens of
 * context after the first window). Speech also continues a few held-out prompts and reports what
 * a listener would hear (pocketsphinx words, silence, unit variety), next to the real audio.
 *
 * Legend: B batch, T time (window length), V vocabulary.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mean } from '@zipper/common';
import { evaluateLoss, initBackend, readTowerCheckpointInfo, resolveModelLocation, ZipperError, type Batch } from '@zipper/core';
import { countTokens, type AudioRecordBase } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { KneserNeyLM } from '@zipper/eval';
import { transcribeWavFiles } from '@zipper/eval/node';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { prepareAudio, resample, writeWav } from '@zipper/tokenizers';
import { intArg, modalityArg, numArg, parse } from '../args.js';
import { UsageError, type Command } from '../command.js';
import { prepareData, TOKENIZER_DIR, type PreparedData, type TokenizerRecord } from '../pretrain/prepare.js';
import { PRETRAIN_PRESETS, pretrainPreset, type Modality } from '../pretrain/presets.js';
import { continueUnits } from './continue.js';

/**
 * The tower and the Kneser-Ney n-gram scored different numbers of held-out targets: both must
 * score the same tokens (the comparison above), so this is a bug in `zipper quality`, not bad input.
 */
export class QualityInvariantError extends ZipperError {}

const USAGE = `usage:
  zipper quality text|speech --model DIR|PACKAGE --data DIR [--order 3] [--preset NAME] [--json]
        speech only: [--prompts 3] [--seeds 3] [--prompt-seconds 1] [--seconds 3]
                     [--temperature 0.8] [--keep DIR] [--no-continuations]

Held-out cross-entropy of a pretrained tower (nats per target and perplexity) against a modified
Kneser-Ney n-gram (@zipper/eval KneserNeyLM, --order, default 3) trained on the same training
documents with the same tokenizer (the tower's). The documents are the ones zipper pretrain used
(text: BPE of the dev transcripts, trained on text-only; speech: units of the last share of
speech-only, trained on the rest), from the tower's --preset (default: the one in its metadata)
over --data (the build it was pretrained on). Both score the same targets: each document's tokens
and its end token, from the document start (tower: <bos> doc <eos>; n-gram: <s> doc </s>). A
document longer than the tower's maxSeqLen is scored in windows moved by half of it, each target
once (with at least maxSeqLen/2 tokens of context).
speech: also --prompts held-out utterances: the first --prompt-seconds of real audio, --seconds
continued per seed (0 .. --seeds - 1, --temperature), vocoded, transcribed by pocketsphinx_batch;
reported with the real audio of the same span: words recognized, share of silent 20 ms frames
(RMS below -40 dBFS), unique units / units. --keep DIR keeps the WAVs.
The last stdout line is one JSON object with both numbers (--json: no summary lines on stderr).`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  order: { type: 'string' },
  preset: { type: 'string' },
  prompts: { type: 'string' },
  seeds: { type: 'string' },
  'prompt-seconds': { type: 'string' },
  seconds: { type: 'string' },
  temperature: { type: 'string' },
  keep: { type: 'string' },
  'no-continuations': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Windows of each document, batched: inputs doc[s, s+T), targets doc[s+1, s+T+1), mask 1 on targets not scored before. */
export function documentBatches(docs: readonly ArrayLike<number>[], maxSeqLen: number, batchSize = 8): Batch[] {
  const half = Math.max(1, Math.floor(maxSeqLen / 2));
  const windows: { ids: number[]; from: number }[] = []; // from: first target index (within the window) that counts
  for (const doc of docs) {
    const L = doc.length;
    let scored = 0; // targets doc[1..scored] are counted
    for (let s = 0; scored < L - 1; s += half) {
      const T = Math.min(maxSeqLen, L - 1 - s);
      windows.push({ ids: Array.from({ length: T + 1 }, (_, i) => doc[s + i] as number), from: scored - s });
      scored = s + T;
    }
  }
  windows.sort((a, b) => a.ids.length - b.ids.length);
  const batches: Batch[] = [];
  for (let i = 0; i < windows.length; i += batchSize) {
    const group = windows.slice(i, i + batchSize);
    const B = group.length;
    const T = group[group.length - 1]!.ids.length - 1;
    const inputs = new Int32Array(B * T); // [B, T], padded with 0 (masked)
    const targets = new Int32Array(B * T);
    const mask = new Float32Array(B * T);
    group.forEach((w, b) => {
      for (let t = 0; t < w.ids.length - 1; t++) {
        inputs[b * T + t] = w.ids[t]!;
        targets[b * T + t] = w.ids[t + 1]!;
        mask[b * T + t] = t >= w.from ? 1 : 0;
      }
    });
    batches.push({ batchSize: B, seqLen: T, inputs, targets, mask });
  }
  return batches;
}

/** What a listener would notice in `samples`: share of 20 ms frames below -40 dBFS RMS. */
export function silenceShare(samples: Float32Array, sampleRate: number): number {
  const frame = Math.max(1, Math.round(sampleRate / 50));
  let frames = 0;
  let silent = 0;
  for (let s = 0; s + frame <= samples.length; s += frame) {
    let e = 0;
    for (let i = s; i < s + frame; i++) e += samples[i]! * samples[i]!;
    frames++;
    if (Math.sqrt(e / frame) < 0.01) silent++;
  }
  return frames === 0 ? 1 : silent / frames;
}

export const uniqueRatio = (units: ArrayLike<number>): number => (units.length === 0 ? 0 : new Set(Array.from(units)).size / units.length);
const words = (t: string): number => (t.trim() === '' ? 0 : t.trim().split(/\s+/).length);
const r4 = (x: number): number => +x.toFixed(4);

/** The tower's pretraining preset name and its tokenizer record, from its checkpoint metadata. */
async function towerInfo(
  dir: string,
  modality: Modality,
): Promise<{ preset?: string; dataBuildSha256?: string; tokenizer: TokenizerRecord }> {
  const { metadata } = await readTowerCheckpointInfo(path.join(dir, 'tower'));
  const user = metadata.user as {
    modality?: string;
    pretrain?: { preset?: string; dataBuildSha256?: string };
    tokenizer?: { vocabSize?: number; numUnits?: number; sha256?: string };
  };
  if (user.modality !== undefined && user.modality !== modality)
    throw new UsageError(`${dir} holds a ${user.modality} tower, not ${modality}`);
  const ref = user.tokenizer;
  if (!ref || typeof ref.sha256 !== 'string')
    throw new UsageError(
      `${dir}/tower/metadata.json names no tokenizer; pass a tower saved by zipper pretrain (TextTower/SpeechTower.save)`,
    );
  const tokenizer: TokenizerRecord =
    modality === 'text'
      ? { kind: 'byte-level-bpe', vocabSize: ref.vocabSize ?? 0, sha256: ref.sha256 }
      : { kind: 'speech-units', vocabSize: (ref.numUnits ?? 0) + 2, sha256: ref.sha256, source: path.join(dir, TOKENIZER_DIR) };
  return {
    ...(user.pretrain?.preset ? { preset: user.pretrain.preset } : {}),
    ...(user.pretrain?.dataBuildSha256 ? { dataBuildSha256: user.pretrain.dataBuildSha256 } : {}),
    tokenizer,
  };
}

interface ContinuationOptions {
  readonly prompts: number;
  readonly seeds: number;
  readonly promptSeconds: number;
  readonly seconds: number;
  readonly temperature: number;
  readonly keep?: string;
}

/** Continues held-out prompts, vocodes, transcribes; the real audio of the same span as the reference. */
async function listen(
  model: SpeechTower,
  data: DataDir,
  records: readonly AudioRecordBase[],
  o: ContinuationOptions,
  log: (s: string) => void,
) {
  const rate = model.tokenizer.features.sampleRate;
  const unitRate = model.tokenizer.unitRate;
  const dir = o.keep ? path.resolve(o.keep) : mkdtempSync(path.join(os.tmpdir(), 'zipper-quality-'));
  mkdirSync(dir, { recursive: true });
  const toWav = (x: Float32Array) => writeWav(rate === 16000 ? x : resample(x, rate, 16000), 16000, 'pcm16');
  try {
    const files: string[] = [];
    const rows: { id: string; seed: number | null; units: number; seconds: number; silence: number; unique: number }[] = [];
    for (const r of records.slice(0, o.prompts)) {
      const audio = prepareAudio(data.audio(r), rate);
      const prompt = audio.subarray(0, Math.min(audio.length, Math.round(o.promptSeconds * rate)));
      const promptUnits = model.tokenizer.encode(prompt);
      const count = Math.min(Math.round(o.seconds * unitRate), model.tower.config.maxSeqLen - promptUnits.length - 1);
      if (promptUnits.length === 0 || count < 1)
        throw new UsageError(
          `held-out utterance ${r.id}: ${promptUnits.length} prompt units leave no room in maxSeqLen ${model.tower.config.maxSeqLen}; lower --prompt-seconds`,
        );
      const real = audio.subarray(prompt.length, Math.min(audio.length, prompt.length + Math.round((count / unitRate) * rate)));
      const realUnits = real.length > 0 ? model.tokenizer.encode(real) : new Uint16Array(0);
      files.push(path.join(dir, `${r.id}-real.wav`));
      writeFileSync(files[files.length - 1]!, toWav(real));
      rows.push({
        id: r.id,
        seed: null,
        units: realUnits.length,
        seconds: real.length / rate,
        silence: silenceShare(real, rate),
        unique: uniqueRatio(realUnits),
      });
      for (let seed = 0; seed < o.seeds; seed++) {
        const c = await continueUnits(model, promptUnits, count, { temperature: o.temperature, topK: 0, topP: 1, seed });
        const more = c.units.length > 0 ? model.tokenizer.decode(c.units) : new Float32Array(0);
        files.push(path.join(dir, `${r.id}-seed${seed}.wav`));
        writeFileSync(files[files.length - 1]!, toWav(more));
        rows.push({
          id: r.id,
          seed,
          units: c.units.length,
          seconds: more.length / rate,
          silence: silenceShare(more, rate),
          unique: uniqueRatio(c.units),
        });
      }
      log(`continued ${r.id}: ${(prompt.length / rate).toFixed(2)} s prompt, ${count} units x ${o.seeds} seeds`);
    }
    const transcripts = await transcribeWavFiles(files, { mode: 'batch' });
    const all = rows.map((row, i) => ({ ...row, transcript: transcripts[i]!, words: words(transcripts[i]!) }));
    const summary = (xs: typeof all) => ({
      clips: xs.length,
      seconds: r4(mean(xs.map((x) => x.seconds))),
      wordsRecognized: r4(mean(xs.map((x) => x.words))),
      silenceShare: r4(mean(xs.map((x) => x.silence))),
      uniqueUnitRatio: r4(mean(xs.map((x) => x.unique))),
    });
    return {
      promptSeconds: o.promptSeconds,
      temperature: o.temperature,
      generated: summary(all.filter((x) => x.seed !== null)),
      real: summary(all.filter((x) => x.seed === null)),
      clips: all.map((x) => ({
        id: x.id,
        seed: x.seed,
        seconds: r4(x.seconds),
        words: x.words,
        silence: r4(x.silence),
        uniqueUnitRatio: r4(x.unique),
        transcript: x.transcript,
      })),
      ...(o.keep ? { wavs: dir } : {}),
    };
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

export const quality: Command = {
  name: 'quality',
  summary:
    "held-out cross-entropy of a pretrained tower vs a modified Kneser-Ney n-gram on the same tokens (speech: + continuations' words, silence)",
  async run(argv) {
    const { values: v, positionals } = parse(argv, OPTIONS, USAGE, { positionals: true });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    const modality = modalityArg(positionals, USAGE);
    if (!v.model) throw new UsageError(`--model DIR|PACKAGE is required\n\n${USAGE}`);
    if (!v.data) throw new UsageError(`--data DIR is required (the data build the tower was pretrained on)\n\n${USAGE}`);
    const order = intArg(v.order, 'order', 3, 1);
    if (order > 8) throw new UsageError(`--order must be in 1..8, got ${order}`);
    const cont: ContinuationOptions = {
      prompts: intArg(v.prompts, 'prompts', 3, 0),
      seeds: intArg(v.seeds, 'seeds', 3, 1),
      promptSeconds: numArg(v['prompt-seconds'], 'prompt-seconds', 1),
      seconds: numArg(v.seconds, 'seconds', 3),
      temperature: numArg(v.temperature, 'temperature', 0.8),
      ...(v.keep ? { keep: v.keep } : {}),
    };
    if (
      modality === 'text' &&
      (['prompts', 'seeds', 'prompt-seconds', 'seconds', 'temperature', 'keep'] as const).some((k) => v[k] !== undefined)
    ) {
      throw new UsageError('--prompts, --seeds, --prompt-seconds, --seconds, --temperature and --keep are for quality speech');
    }
    const log = (s: string) => void process.stderr.write(`${s}\n`);

    const dir = resolveModelLocation(v.model);
    const info = await towerInfo(dir, modality);
    const presetName = v.preset ?? info.preset;
    if (!presetName)
      throw new UsageError(`${dir} records no pretraining preset; pass --preset (${Object.keys(PRETRAIN_PRESETS[modality]).join(', ')})`);
    const preset = pretrainPreset(modality, presetName);
    const data = DataDir.open(v.data);
    const sameBuild = info.dataBuildSha256 === undefined ? null : info.dataBuildSha256 === data.buildSha256;
    if (sameBuild === false)
      log(
        `warning: ${data.dir} is not the data build this tower was pretrained on (build.json sha256 ${data.buildSha256.slice(0, 12)}... vs ${info.dataBuildSha256!.slice(0, 12)}...): its held-out split may overlap the training data`,
      );

    await initBackend();
    const prepared: PreparedData = await prepareData(modality, data, preset, { out: dir, resume: info.tokenizer, log });
    const model = modality === 'text' ? await TextTower.load(dir) : await SpeechTower.load(dir);
    try {
      const V = model.tower.config.vocabSize;
      const t0 = performance.now();
      const tower = evaluateLoss(model.tower, documentBatches(prepared.heldOut, model.tower.config.maxSeqLen));
      const t1 = performance.now();
      const inner = (docs: readonly Int32Array[]) => docs.map((d) => Array.from(d.subarray(1, d.length - 1)));
      const lm = new KneserNeyLM(inner(prepared.train), { order, vocabSize: V });
      const kn = lm.crossEntropy(inner(prepared.heldOut));
      const t2 = performance.now();
      if (kn.targets !== tower.targets)
        throw new QualityInvariantError(
          `the tower scored ${tower.targets} held-out targets and the Kneser-Ney n-gram ${kn.targets}; both must score the same tokens, so this is a bug in zipper quality: please report it with the command (ZIPPER_DEBUG=1 prints the stack)`,
        );
      log(
        `tower ${tower.loss.toFixed(4)} nats/token (${((t1 - t0) / 1000).toFixed(1)} s); Kneser-Ney order ${order} ${kn.nats.toFixed(4)} (${((t2 - t1) / 1000).toFixed(1)} s); ${tower.targets} targets`,
      );
      const listener =
        modality === 'speech' && !v['no-continuations'] && cont.prompts > 0
          ? await listen(model as SpeechTower, data, prepared.heldOutRecords ?? [], cont, log)
          : undefined;
      const result = {
        modality,
        model: dir,
        data: data.dir,
        preset: presetName,
        sameBuild,
        heldOut: { documents: prepared.heldOut.length, tokens: countTokens(prepared.heldOut), targets: tower.targets },
        train: { documents: prepared.train.length, tokens: countTokens(prepared.train) },
        tower: { nats: r4(tower.loss), perplexity: r4(tower.perplexity), targets: tower.targets },
        kneserNey: { order, nats: r4(kn.nats), perplexity: r4(Math.exp(kn.nats)), targets: kn.targets },
        towerBeatsKneserNey: tower.loss < kn.nats,
        ...(listener ? { continuations: listener } : {}),
      };
      if (!v.json) {
        log(`held out: ${result.heldOut.documents} documents, ${result.heldOut.targets} targets`);
        log(`tower:             ${result.tower.nats} nats/token, perplexity ${result.tower.perplexity}`);
        log(`Kneser-Ney ${order}-gram: ${result.kneserNey.nats} nats/token, perplexity ${result.kneserNey.perplexity}`);
        if (listener)
          log(
            `continuations: ${listener.generated.wordsRecognized} words, ${listener.generated.silenceShare} silent, ${listener.generated.uniqueUnitRatio} unique units per clip (real audio: ${listener.real.wordsRecognized}, ${listener.real.silenceShare}, ${listener.real.uniqueUnitRatio})`,
          );
      }
      console.log(JSON.stringify(result));
    } finally {
      model.dispose();
    }
    return 0;
  },
};
