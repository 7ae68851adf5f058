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
import { CheckpointError, keySetProblems, resolveModelLocation, shapesOf } from '@zipper/core';
import { UsageError } from '../command.js';
import type { ModelKind, RunModel } from './models.js';
import { MODEL_DIR, readFuseRun, type FuseRun } from './run-file.js';
import { MODALITIES, type Modality, type TowerRef } from './towers.js';
import { loadTrainedModel, type TrainedModel } from './trained-model.js';

/** What run.json records of the source (`initFrom`). */
export interface InitFrom {
  /** The source run directory or checkpoint package folder (absolute). */
  readonly dir: string;
  /** sha256 over the source's model/*.safetensors (names and bytes, in name order). */
  readonly sha256: string;
  /** The source is a released checkpoint package (`zipper fuse release`): what its card says trained it, read when the run started. */
  readonly package?: PackageSource;
}

/**
 * A checkpoint package as a warm-start source: its name and version and the training block of its
 * model card (its commands, oldest first, and the lines naming their placeholders), kept in the
 * new run's run.json so that its release can name the whole chain after the package is gone or
 * re-released (a training machine's run folders do not outlive it; the package does, in git and npm).
 */
export interface PackageSource {
  readonly name: string;
  readonly version: string;
  /** The commands of the card's "## Training" block, with the card's placeholders (`OUT`, `INIT`, `DATA`, ...). */
  readonly commands: readonly string[];
  /** The card's lines that say what `INIT`, `INIT_2`, ... are. */
  readonly legend: readonly string[];
  /** The data build its last command trained on (build.json sha256): its `DATA`. */
  readonly dataSha256: string;
}

/** The package source of `dir`, if it is a released checkpoint package (package.json + run.json with its lineage, or a model card with a training block). */
export function packageSource(dir: string, run: FuseRun): PackageSource | undefined {
  const pkgFile = path.join(dir, 'package.json');
  const cardFile = path.join(dir, 'README.md');
  if (!existsSync(pkgFile)) return undefined;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; version?: string };
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') return undefined;
  const about = { name: pkg.name, version: pkg.version, dataSha256: run.data.buildSha256 };
  if (run.lineage) return { ...about, commands: run.lineage.commands, legend: run.lineage.legend };
  // a package released before run.json kept its lineage: read its card's training block
  const card = existsSync(cardFile) ? readFileSync(cardFile, 'utf8') : '';
  const block = /^## Training\n\n```sh\n([\s\S]*?)\n```\n([\s\S]*?)(?=\n\| \||\n## )/m.exec(card);
  if (!block)
    throw new UsageError(
      `--init-from ${dir}: the package ${pkg.name}@${pkg.version} has no model card with a "## Training" block (zipper fuse release writes one), so a release of this run could not say how its weights came to be`,
    );
  return {
    ...about,
    commands: block[1]!.split('\n').filter((l) => l.trim() !== ''),
    legend: block[2]!.split('\n').filter((l) => /^`INIT(_\d+)?`: /.test(l)),
  };
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

/**
 * Checks the source of `--init-from DIR|PACKAGE` (a run's --out directory, or a checkpoint package
 * of `zipper fuse release` by folder or installed name) against the new run's kind, towers and
 * frozen towers; returns its absolute path. A tower this run freezes must be frozen in the source
 * too: a frozen tower is saved by reference to its tower checkpoint (@zipper/fuse saveZipper), so
 * weights the source trained would be trained on here and then lost from every checkpoint.
 */
export function checkInitSource(
  dir: string,
  kind: ModelKind,
  towers: Readonly<Record<Modality, TowerRef>>,
  freeze: readonly string[] = [],
): string {
  let abs: string;
  try {
    abs = resolveModelLocation(dir);
  } catch (e) {
    if (e instanceof CheckpointError) throw new UsageError(`--init-from ${dir}: ${e.message}`);
    throw e;
  }
  const runFile = path.join(abs, 'run.json');
  if (!existsSync(runFile))
    throw new UsageError(`--init-from ${dir}: no run.json; pass the --out directory of a zipper ${kind} train run or a checkpoint package`);
  const src: FuseRun = readFuseRun(runFile);
  if (src.kind !== kind) throw new UsageError(`--init-from ${dir} holds a zipper ${src.kind} train run; this is zipper ${kind} train`);
  if (src.soup && !src.lineage)
    throw new UsageError(
      `--init-from ${dir} is a soup of runs (zipper fuse soup), not one run: release it (zipper fuse release --run ${dir} --out PKG), whose card names every part's command, and pass --init-from PKG`,
    );
  for (const m of MODALITIES) {
    if (src.towers[m].sha256 !== towers[m].sha256)
      throw new UsageError(
        `--init-from ${dir} was trained on another ${m} tower (sha256 ${src.towers[m].sha256.slice(0, 12)}..., this run's ${towers[m].sha256.slice(0, 12)}...); pass the same --tower ${m}`,
      );
  }
  const trained = freeze.filter((t) => !(src.model.freeze ?? []).includes(t));
  if (trained.length > 0)
    throw new UsageError(
      `--init-from ${dir} trained the ${trained.join(' and ')} tower${trained.length > 1 ? 's' : ''}, which this run freezes: a frozen tower is saved as a reference to its tower checkpoint, so the source's trained weights would be lost; keep them fixed and saved with --tower-lr-scale 0 (and --freeze ${freeze.filter((t) => !trained.includes(t)).join(',') || 'none'})`,
    );
  const modelDir = path.join(abs, MODEL_DIR);
  if (!existsSync(modelDir))
    throw new UsageError(`--init-from ${dir}: no ${MODEL_DIR}/ yet (the run has not reached its first checkpoint)`);
  return abs;
}

/** What `--init-from` reads for a trained source (`loadVerifiedModel`). */
export interface VerifiedModel {
  readonly trained: TrainedModel;
  /** sha256 over its model/*.safetensors (modelWeightsSha256), the same before and after reading. */
  readonly sha256: string;
}

/**
 * Loads the trained model in `dir` (a run's --out or a checkpoint package), hashing its weights
 * before and after reading, so a source rewritten meanwhile (e.g. by its own training) is refused
 * rather than recorded under the wrong sha256. `label` names it in the errors; `expected`: the
 * sha256 a run recorded of it, refused (with `hint`) when its weights are other ones now.
 * `towers` / `run` as for loadTrainedModel.
 */
export async function loadVerifiedModel(
  dir: string,
  label: string,
  o: {
    readonly towers?: Partial<Record<Modality, string>>;
    readonly run?: FuseRun;
    readonly expected?: { readonly sha256: string; readonly hint: string };
  } = {},
): Promise<VerifiedModel> {
  const modelDir = path.join(dir, MODEL_DIR);
  const sha256 = modelWeightsSha256(modelDir);
  if (o.expected && sha256 !== o.expected.sha256)
    throw new UsageError(
      `${label}: its weights are not the ones recorded when the run started (sha256 ${sha256.slice(0, 12)}..., recorded ${o.expected.sha256.slice(0, 12)}...); ${o.expected.hint}`,
    );
  const trained = await loadTrainedModel(dir, o.towers, o.run);
  if (modelWeightsSha256(modelDir) !== sha256) {
    trained.dispose();
    throw new UsageError(`${label}: its weights changed while being read (is it still training?); try again`);
  }
  return { trained, sha256 };
}

/**
 * Assigns the weights of the run (or checkpoint package) in `dir` to `model`'s parameters. `expected` (a resume) must
 * equal the source's weights as they are now, else the source changed since the run started.
 * Returns what was read (loadVerifiedModel).
 */
export async function initFrom(
  model: RunModel,
  dir: string,
  towers: Readonly<Record<Modality, TowerRef>>,
  expected?: InitFrom,
): Promise<InitFrom> {
  // the source's towers are this run's (checkInitSource compared their sha256s): read from here, so a
  // checkpoint package (whose run.json names its towers by package name) loads where they are not installed
  const { trained: src, sha256 } = await loadVerifiedModel(dir, `--init-from ${dir}`, {
    towers: { text: towers.text.dir, speech: towers.speech.dir },
    ...(expected ? { expected: { sha256: expected.sha256, hint: 'start a new run' } } : {}),
  });
  try {
    const problems = keySetProblems(shapesOf(model.params), shapesOf(src.model.params));
    if (problems.length > 0)
      throw new UsageError(`--init-from ${dir}: its weights do not fit this model (${problems.join('; ')}); use the same model options`);
    for (const [k, p] of model.params) p.assign(src.model.params.get(k)!);
    // the run.json loadTrainedModel read names the package's data build (no second read)
    const pkg = expected ? expected.package : packageSource(dir, src.run);
    return { dir, sha256, ...(pkg ? { package: pkg } : {}) };
  } finally {
    src.dispose();
  }
}
