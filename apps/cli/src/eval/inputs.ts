/**
 * The inputs of `zipper eval`: the split of a data build (--data, --split, --voice, --limit) and the
 * trained model (--model DIR|PACKAGE: the --out of `zipper fuse train` or `zipper baseline
 * train`, or an installed checkpoint package holding the same files), with one-line typed errors
 * for a missing model, an unknown split and a folder that holds another kind of model.
 *
 * `--split train` (eval asr and tts) reads the model's own training pairs instead of a held-out
 * split: the aligned subset at the run's fraction, aligned-asr for ASR (the other voices'
 * renderings, which every run trains on) and aligned-tts for TTS. Scoring them next to dev tells
 * memorization from generalization.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveModelLocation, ZipperError } from '@zipper/core';
import { AUDIO_SPLITS, isAlignedSplit, MissingSplitError, type AlignedSplit, type AudioSplit, type TextRecord } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { UsageError } from '../command.js';
import { readFuseRun } from '../fuse/run-file.js';
import { loadTrainedModel, type TrainedModel } from '../fuse/trained-model.js';

/**
 * The splits with transcripts that are held out from training: every audio split of a data build
 * but speech-only and the aligned ones, in `AUDIO_SPLITS` order (dev-noisy: only in a data build
 * made with --noisy; dev-tts-voice, test-clean-tts-voice: only with --tts-voice-sets; dev-other:
 * only with --dev-other; fresh-dev, fresh-dev-tts-voice: only with --fresh-dev FILE).
 */
export type EvalSplit = Exclude<AudioSplit, AlignedSplit | 'speech-only'>;
export const EVAL_SPLITS: readonly EvalSplit[] = AUDIO_SPLITS.filter((s): s is EvalSplit => s !== 'speech-only' && !isAlignedSplit(s));
/** The model's own training pairs (`--split train`), for `eval asr` and `eval tts`. */
export const TRAIN_SPLIT = 'train';
export type InputSplit = EvalSplit | typeof TRAIN_SPLIT;

/** A --model that is not a trained fused model (a tower, a data build, ...). */
export class ModelKindError extends ZipperError {}

export function parseSplit(v: string | undefined): EvalSplit;
export function parseSplit(v: string | undefined, options: { readonly train: true }): InputSplit;
export function parseSplit(v: string | undefined, options: { readonly train?: boolean } = {}): InputSplit {
  const allowed: readonly string[] = options.train ? [...EVAL_SPLITS, TRAIN_SPLIT] : EVAL_SPLITS;
  const what = `${EVAL_SPLITS.join(', ')} (the held-out splits of zipper data build; dev-noisy of a build made with --noisy, the TTS voice's two with --tts-voice-sets, dev-other with --dev-other, fresh-dev and fresh-dev-tts-voice with --fresh-dev FILE)${options.train ? ` or ${TRAIN_SPLIT} (the model's own training pairs)` : ''}`;
  if (v === undefined) throw new UsageError(`--split is required: ${what}`);
  if (!allowed.includes(v)) throw new UsageError(`unknown split "${v}"; --split takes ${what}`);
  return v as InputSplit;
}

export interface SplitInput<S extends InputSplit = EvalSplit> {
  readonly data: DataDir;
  readonly split: S;
  /** The manifest read: `dev.jsonl`, ..., or for `train` the run's aligned subset. */
  readonly manifest: string;
  /** sha256 of the manifest's bytes: the split's identity across builds (a grown build keeps dev and test byte for byte). */
  readonly manifestSha256: string;
  /** In manifest order, those of --voice (all voices without it), the first --limit of them. */
  readonly records: readonly TextRecord[];
  /** --voice: the one voice kept (undefined: every voice of the split). */
  readonly voice?: string;
}

/** Which utterances of a split to read: only those of `voice` (e.g. `flite/slt`, the TTS voice), then the first `limit`. */
export interface Selection {
  readonly limit?: number | undefined;
  readonly voice?: string | undefined;
}

/** The model's own training pairs of `task` (`--split train`): the run's aligned subset of its data build. */
export interface TrainPairs {
  readonly task: 'asr' | 'tts';
  /** The run's fraction of the aligned pairs, in percent (1, 10, 100). */
  readonly percent: number;
  /** The run's data build (build.json sha256): --data must be that build. */
  readonly buildSha256: string;
}

/** For `--split train`: the training pairs of the run at `location` (its run.json), by task. */
export function trainPairsOf(location: string | undefined, task: TrainPairs['task']): TrainPairs {
  const run = readFuseRun(path.join(runDirOf(location).dir, 'run.json'));
  return { task, percent: run.data.percent, buildSha256: run.data.buildSha256 };
}

export function openSplit(dataDir: string | undefined, split: EvalSplit, select: Selection): SplitInput;
export function openSplit(
  dataDir: string | undefined,
  split: InputSplit,
  select: Selection,
  train: TrainPairs | undefined,
): SplitInput<InputSplit>;
export function openSplit(
  dataDir: string | undefined,
  split: InputSplit,
  { limit, voice }: Selection,
  train?: TrainPairs,
): SplitInput<InputSplit> {
  if (!dataDir) throw new UsageError('--data DIR is required (the --out of zipper data build)');
  const data = DataDir.open(dataDir);
  let read: { readonly file: string; readonly records: TextRecord[]; readonly sha256: string };
  if (split === TRAIN_SPLIT) {
    if (!train) throw new UsageError(`--split ${TRAIN_SPLIT} is for zipper eval asr and tts`);
    if (data.buildSha256 !== train.buildSha256)
      throw new UsageError(
        `${data.dir}/build.json (sha256 ${data.buildSha256.slice(0, 12)}...) is not the data build the model trained on (${train.buildSha256.slice(0, 12)}...); --split ${TRAIN_SPLIT} needs --data to be that build`,
      );
    read = data.manifest(train.task === 'asr' ? 'aligned-asr' : 'aligned-tts', train.percent);
  } else {
    try {
      read = data.manifest(split) as typeof read;
    } catch (e) {
      // a build without the split's optional set: the caller's choice of split, a usage error
      if (e instanceof MissingSplitError) throw new UsageError(e.message);
      throw e;
    }
  }
  const voiced = voice === undefined ? read.records : read.records.filter((r) => r.voice === voice);
  if (voice !== undefined && voiced.length === 0)
    throw new UsageError(
      `${data.dir}: ${read.file} has no utterance in the voice "${voice}"; its voices: ${[...new Set(read.records.map((r) => r.voice))].join(', ')}`,
    );
  const records = limit === undefined ? voiced : voiced.slice(0, limit);
  if (records.length === 0) throw new UsageError(`${data.dir}: ${read.file} holds no utterance${limit === 0 ? ' (--limit 0)' : ''}`);
  return { data, split, manifest: read.file, manifestSha256: read.sha256, records, ...(voice !== undefined ? { voice } : {}) };
}

export interface EvalModel {
  /** The resolved model directory. */
  readonly dir: string;
  /** Where outputs go by default: DIR/eval for a run directory, ./eval/<package> for an installed package. */
  readonly defaultOut: string;
  readonly m: TrainedModel;
}

/** The directory of --model, a trained fused model's (it holds run.json); tells a tower, a data build or an empty folder from one. */
function runDirOf(location: string | undefined): { readonly dir: string; readonly isPackage: boolean } {
  if (!location)
    throw new UsageError(
      '--model DIR|PACKAGE is required (the --out of zipper fuse train or zipper baseline train, or a checkpoint package)',
    );
  const dir = resolveModelLocation(location);
  const hint = 'zipper eval takes the --out of zipper fuse train or zipper baseline train (run.json + model/)';
  if (!existsSync(path.join(dir, 'run.json'))) {
    if (existsSync(path.join(dir, 'tower')))
      throw new ModelKindError(`${dir} is a single pretrained tower (zipper pretrain output), not a trained fused model; ${hint}`);
    if (existsSync(path.join(dir, 'build.json')))
      throw new ModelKindError(`${dir} is a data build, not a model; pass it as --data, and the model as --model`);
    if (existsSync(path.join(dir, 'zipper.json')) || existsSync(path.join(dir, 'config.json')))
      throw new ModelKindError(`${dir} is the model/ folder of a run; pass the run directory above it (${path.dirname(dir)})`);
    throw new ModelKindError(`${dir} has no run.json; ${hint}`);
  }
  return { dir, isPackage: path.resolve(location) !== dir };
}

/** Opens --model: a trained fused model (see runDirOf for what is refused). */
export async function openModel(location: string | undefined): Promise<EvalModel> {
  const { dir, isPackage } = runDirOf(location);
  const m = await loadTrainedModel(dir);
  return { dir, defaultOut: isPackage ? path.resolve('eval', path.basename(dir)) : path.join(dir, 'eval'), m };
}
