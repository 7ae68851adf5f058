/**
 * `zipper fuse interpolate --run RUN --alpha A --out DIR` (a zipped or a baseline run):
 * a run directory whose weights are RUN's moved back toward the weights RUN started from (its
 * `--init-from`): (1 - A) x INIT + A x RUN per weight (@zipper/core interpolateWeights; WiSE-FT).
 * A fine-tuning that traded one condition for another (e.g. noisy speech for the TTS voice) can
 * keep part of its gain at a part of its cost without training again.
 *
 * DIR reads as a run: run.json is RUN's plus `interpolate` (A, RUN's folder and weights sha256, this
 * command), model/ holds the interpolated weights (float32), and RUN's loss.jsonl, sessions.jsonl
 * and loss.svg are copied (the training that made the run). So `zipper eval asr|tts --model DIR`,
 * `zipper fuse release --run DIR` (its card names RUN's command, as `TUNED`, then this one) and
 * `--init-from DIR` take it. Both RUN's weights and INIT's are checked against their sha256
 * (RUN's before and after reading; INIT's against what RUN recorded when it started).
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { replaceDirAtomic, writeFileAtomic } from '@zipper/common/node';
import { interpolateWeights } from '@zipper/core';
import { UsageError } from '../command.js';
import { LOSS_LOG, LOSS_PLOT, SESSIONS_LOG } from '../training/session.js';
import { loadVerifiedModel } from './init-from.js';
import { MODEL_DIR, readRunDir, type FuseRun } from './run-file.js';

/** What run.json of an interpolated run records (`interpolate`). */
export interface Interpolation {
  /** The weight of RUN's weights: 0 = the --init-from weights, 1 = RUN's. */
  readonly alpha: number;
  /** RUN, the fine-tuned run (absolute). */
  readonly run: string;
  /** sha256 over RUN's model/*.safetensors when they were read (modelWeightsSha256). */
  readonly sha256: string;
  /** The command that made this directory from RUN. */
  readonly command: string;
}

/** 1 - alpha as printed: 0.3 for 0.7 (not 0.30000000000000004). */
export const remainderOf = (alpha: number): number => +(1 - alpha).toFixed(12);

export interface InterpolateOptions {
  readonly run: string;
  readonly alpha: number;
  readonly out: string;
}

export async function interpolateRun(o: InterpolateOptions, log: (s: string) => void): Promise<string> {
  const runDir = path.resolve(o.run);
  const out = path.resolve(o.out);
  if (out === runDir) throw new UsageError('--out must be a new directory, not --run itself (its weights would be replaced)');
  const run = readRunDir(runDir);
  if (run.soup)
    throw new UsageError(
      `${runDir} is a soup of runs (zipper fuse soup), with no one start to interpolate toward; interpolate one of its parts`,
    );
  if (run.interpolate)
    throw new UsageError(`${runDir} is an interpolation already (of ${run.interpolate.run}); interpolate that run with another --alpha`);
  if (run.best)
    throw new UsageError(
      `${runDir} is the --keep-best copy of a run (step ${run.best.step}); interpolate a run folder (e.g. its run trained again with --until-step ${run.best.step})`,
    );
  if (!run.initFrom)
    throw new UsageError(
      `${runDir} started from a fresh initialization (no --init-from): there are no weights to interpolate toward; pass a run trained with --init-from`,
    );
  const source = run.initFrom.dir;
  const sourceModel = path.join(source, MODEL_DIR);
  if (!existsSync(sourceModel))
    throw new UsageError(`${runDir} started from ${source} (--init-from), which has no ${MODEL_DIR}/ here; restore it to interpolate`);
  // the source's towers are the run's (--init-from checked their sha256): read from the run's locations
  const start = await loadVerifiedModel(source, `${source} (the --init-from of ${runDir})`, {
    towers: { text: run.towers.text.dir, speech: run.towers.speech.dir },
    expected: { sha256: run.initFrom.sha256, hint: 'e.g. a package released again since; restore those weights to interpolate' },
  });
  try {
    const tuned = await loadVerifiedModel(runDir, runDir, { run });
    try {
      const mixed = interpolateWeights(start.trained.model.params, tuned.trained.model.params, o.alpha);
      for (const [k, p] of tuned.trained.model.params) p.assign(mixed.get(k)!);
      for (const t of mixed.values()) t.dispose();
      const interpolate: Interpolation = {
        alpha: o.alpha,
        run: runDir,
        sha256: tuned.sha256,
        command: `zipper fuse interpolate --run ${runDir} --alpha ${o.alpha} --out ${out}`,
      };
      const made: FuseRun = { ...run, interpolate };
      await replaceDirAtomic(out, async (dir) => {
        await tuned.trained.model.save(path.join(dir, MODEL_DIR));
        await writeFileAtomic(path.join(dir, 'run.json'), `${JSON.stringify(made, null, 2)}\n`);
        for (const f of [LOSS_LOG, SESSIONS_LOG, LOSS_PLOT])
          if (existsSync(path.join(runDir, f))) copyFileSync(path.join(runDir, f), path.join(dir, f));
      });
    } finally {
      tuned.trained.dispose();
    }
  } finally {
    start.trained.dispose();
  }
  log(`interpolated ${o.alpha} x ${runDir} + ${remainderOf(o.alpha)} x ${source} into ${out}`);
  return out;
}
