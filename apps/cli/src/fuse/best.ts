/**
 * `--keep-best BY` of `zipper fuse train` / `zipper baseline train`: OUT/best/ is the run as of its
 * best held-out evaluation so far (by the total held-out loss, `total`, or one stream's, e.g.
 * `text_ctc`; the held-out set is the data build's dev split; with --asr-audio ...,noisy also
 * dev-noisy's ASR examples, as streams `noisy_<stream>`, e.g. `noisy_text_ctc`), a run directory, so every command
 * that takes a run takes it (`zipper eval asr --model OUT/best`, `zipper fuse release --run
 * OUT/best`, `zipper eval report --runs OUT/best`, `--init-from OUT/best`):
 *   run.json         the run's, with `best` (step, score, the evaluation's losses) and the command
 *                    that reproduces these weights: the run's with `--until-step STEP`
 *   model/           the weights at that step (release format, float32)
 *   loss.jsonl, sessions.jsonl, loss.svg   the run's as of that step (training/session.ts)
 * The session replaces it as a whole (@zipper/common replaceDirAtomic), after the evaluation and
 * before the step's training checkpoint; a resume redoes everything after its checkpoint exactly.
 */
import path from 'node:path';
import { writeFileAtomic } from '@zipper/common/node';
import type { LossSpec } from '@zipper/core';
import { UsageError } from '../command.js';
import { bestRunFile, TOTAL, type BestEvaluation } from '../training/session.js';
import type { RunModel } from './models.js';
import { MODEL_DIR, type FuseRun } from './run-file.js';

/** `--keep-best BY`: `total` or a stream name (checked against the held-out set by `checkKeepBest`). */
export function keepBestArg(v: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(v))
    throw new UsageError(`--keep-best takes ${TOTAL} (the held-out loss) or a stream name such as text, speech, text_ctc, got "${v}"`);
  return v;
}

/** The prefix of the second held-out set's streams (dev-noisy, with --asr-audio ...,noisy): `noisy_text_ctc`. */
export const NOISY_HELD_OUT = 'noisy_';

/**
 * The streams the held-out sets have targets of (each set's under its prefix; the first set, with
 * prefix '', is the one `total` is of): `by` must be one, or `total`.
 */
export function checkKeepBest<B>(
  by: string,
  sets: readonly { readonly prefix: string; readonly batches: readonly B[] }[],
  spec: LossSpec<B>,
): void {
  if (!sets[0] || sets[0].batches.length === 0)
    throw new UsageError('--keep-best chooses by the held-out loss, but the run has no held-out examples');
  const streams = new Set<string>();
  for (const { prefix, batches } of sets)
    for (const b of batches) for (const [s, n] of Object.entries(spec.countTargets(b))) if (n > 0) streams.add(`${prefix}${s}`);
  if (by !== TOTAL && !streams.has(by))
    throw new UsageError(`--keep-best ${by}: the held-out set has no stream "${by}"; choose ${[TOTAL, ...[...streams].sort()].join(', ')}`);
}

/** KeepBest.save: the model and run.json of a new best into `dir` (the session writes the rest). */
export function saveBestModel(run: FuseRun, model: RunModel): (best: BestEvaluation, dir: string) => Promise<void> {
  return async (best, dir) => {
    await model.save(path.join(dir, MODEL_DIR));
    await writeFileAtomic(path.join(dir, 'run.json'), `${JSON.stringify(bestRunFile(run, best), null, 2)}\n`);
  };
}
