/**
 * The inputs of `zipper eval`: the split of a data build (--data, --split, --limit) and the
 * trained model (--model DIR|PACKAGE: the --out of `zipper fuse train` or `zipper baseline
 * train`, or an installed checkpoint package holding the same files), with one-line typed errors
 * for a missing model, an unknown split and a folder that holds another kind of model.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveModelLocation, ZipperError } from '@zipper/core';
import type { TextRecord } from '@zipper/data';
import { DataDir } from '@zipper/data/node';
import { UsageError } from '../command.js';
import { loadTrainedModel, type TrainedModel } from '../fuse/trained-model.js';

/** The splits with transcripts that are held out from training. */
export const EVAL_SPLITS = ['dev', 'test-clean', 'test-other'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

/** A --model that is not a trained fused model (a tower, a data build, ...). */
export class ModelKindError extends ZipperError {}

export function parseSplit(v: string | undefined): EvalSplit {
  if (v === undefined) throw new UsageError(`--split is required: ${EVAL_SPLITS.join(', ')}`);
  if (!(EVAL_SPLITS as readonly string[]).includes(v))
    throw new UsageError(`unknown split "${v}"; --split takes ${EVAL_SPLITS.join(', ')} (the held-out splits of zipper data build)`);
  return v as EvalSplit;
}

export interface SplitInput {
  readonly data: DataDir;
  readonly split: EvalSplit;
  /** In manifest order, the first --limit of them. */
  readonly records: readonly TextRecord[];
}

export function openSplit(dataDir: string | undefined, split: EvalSplit, limit: number | undefined): SplitInput {
  if (!dataDir) throw new UsageError('--data DIR is required (the --out of zipper data build)');
  const data = DataDir.open(dataDir);
  const all = data.records(split) as TextRecord[];
  const records = limit === undefined ? all : all.slice(0, limit);
  if (records.length === 0) throw new UsageError(`${data.dir}: split ${split} holds no utterance${limit === 0 ? ' (--limit 0)' : ''}`);
  return { data, split, records };
}

export interface EvalModel {
  /** The resolved model directory. */
  readonly dir: string;
  /** Where outputs go by default: DIR/eval for a run directory, ./eval/<package> for an installed package. */
  readonly defaultOut: string;
  readonly m: TrainedModel;
}

/** Opens --model; tells a tower, a data build or an empty folder from a trained fused model. */
export async function openModel(location: string | undefined): Promise<EvalModel> {
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
  const isPackage = path.resolve(location) !== dir;
  const m = await loadTrainedModel(dir);
  return { dir, defaultOut: isPackage ? path.resolve('eval', path.basename(dir)) : path.join(dir, 'eval'), m };
}
