/**
 * `--init-from RUN` of `zipper fuse train` / `zipper baseline train`: a new run that starts from
 * another run's trained weights (its OUT/model) instead of the fresh initialization, with its own
 * schedule, seed, data order and a fresh optimizer (a warm start, e.g. to train an underfit model
 * for more passes with a new learning-rate schedule). Both runs must be of the same kind, built
 * on the same tower checkpoints (sha256) and have the same weight keys and shapes; the source's
 * weights are identified by the sha256 of its model/ weight files, recorded in run.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import { CheckpointError, keySetProblems, shapesOf } from '@zipper/core';
import { UsageError } from '../command.js';
import type { ModelKind, RunModel } from './models.js';
import { MODEL_DIR, readFuseRun, type FuseRun } from './run-file.js';
import { MODALITIES, type Modality, type TowerRef } from './towers.js';
import { loadTrainedModel } from './trained-model.js';

/** What run.json records of the source (`initFrom`). */
export interface InitFrom {
  /** The source run directory (absolute). */
  readonly dir: string;
  /** sha256 over the source's model/*.safetensors (names and bytes, in name order). */
  readonly sha256: string;
}

/** sha256 over a model directory's weight files (names and bytes, sorted by name): what `--init-from` read. */
export function modelWeightsSha256(modelDir: string): string {
  const files = readdirSync(modelDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort();
  if (files.length === 0) throw new CheckpointError(`${modelDir} holds no .safetensors weights`);
  const parts = files.flatMap((f) => [Buffer.from(`${f}\n`), readFileSync(path.join(modelDir, f))]);
  return sha256Hex(Buffer.concat(parts));
}

/** Checks the source run of `--init-from DIR` against the new run's kind and towers; returns its absolute path. */
export function checkInitSource(dir: string, kind: ModelKind, towers: Readonly<Record<Modality, TowerRef>>): string {
  const abs = path.resolve(dir);
  const runFile = path.join(abs, 'run.json');
  if (!existsSync(runFile)) throw new UsageError(`--init-from ${dir}: no run.json; pass the --out directory of a zipper ${kind} train run`);
  const src: FuseRun = readFuseRun(runFile);
  if (src.kind !== kind) throw new UsageError(`--init-from ${dir} holds a zipper ${src.kind} train run; this is zipper ${kind} train`);
  for (const m of MODALITIES) {
    if (src.towers[m].sha256 !== towers[m].sha256)
      throw new UsageError(
        `--init-from ${dir} was trained on another ${m} tower (sha256 ${src.towers[m].sha256.slice(0, 12)}..., this run's ${towers[m].sha256.slice(0, 12)}...); pass the same --tower ${m}`,
      );
  }
  const modelDir = path.join(abs, MODEL_DIR);
  if (!existsSync(modelDir))
    throw new UsageError(`--init-from ${dir}: no ${MODEL_DIR}/ yet (the run has not reached its first checkpoint)`);
  return abs;
}

/**
 * Assigns the weights of the run in `dir` to `model`'s parameters. `expected` (a resume) must
 * equal the source's weights as they are now, else the source changed since the run started.
 * Returns what was read (the weights are hashed before and after loading, so a source that is
 * rewritten meanwhile, e.g. by its own training, is refused rather than recorded wrongly).
 */
export async function initFrom(model: RunModel, dir: string, expected?: InitFrom): Promise<InitFrom> {
  const modelDir = path.join(dir, MODEL_DIR);
  const sha256 = modelWeightsSha256(modelDir);
  if (expected && sha256 !== expected.sha256)
    throw new UsageError(
      `--init-from ${dir}: its weights changed since this run started (sha256 ${sha256.slice(0, 12)}..., recorded ${expected.sha256.slice(0, 12)}...); start a new run`,
    );
  const src = await loadTrainedModel(dir);
  try {
    if (modelWeightsSha256(modelDir) !== sha256)
      throw new UsageError(`--init-from ${dir}: its weights changed while being read (is it still training?); try again`);
    const problems = keySetProblems(shapesOf(model.params), shapesOf(src.model.params));
    if (problems.length > 0)
      throw new UsageError(`--init-from ${dir}: its weights do not fit this model (${problems.join('; ')}); use the same model options`);
    for (const [k, p] of model.params) p.assign(src.model.params.get(k)!);
  } finally {
    src.dispose();
  }
  return { dir, sha256 };
}
