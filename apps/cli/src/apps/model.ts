/**
 * The model the apps (`zipper transcribe`, `zipper speak`, `zipper demo speech`, `zipper bench
 * asr|tts`) run: `--model DIR|PACKAGE`, by default the shipped zipped checkpoint
 * `@zipper/checkpoint-zipper-small` (a `zipper fuse train` run directory published as a package:
 * run.json + model/). A package is looked up from the working directory, then from this CLI's own
 * folder (so `npx zipper ...` finds the repository's packages from anywhere); its towers, named by
 * package in run.json, are looked up from the model's folder when their recorded folder is gone
 * (they are its dependencies; loadTrainedModel).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModelLocation, ZipperError } from '@zipper/core';
import { UsageError } from '../command.js';
import { loadTrainedModel, type TrainedModel } from '../fuse/trained-model.js';

/** The zipped checkpoint the apps use without --model. */
export const DEFAULT_MODEL = '@zipper/checkpoint-zipper-small';

/** The default model package is not installed. */
export class ModelMissingError extends ZipperError {}

export interface AppModel {
  readonly m: TrainedModel;
  /** The run directory it was loaded from (absolute). */
  readonly dir: string;
  /** As given (--model) or DEFAULT_MODEL. */
  readonly location: string;
  /** Seconds from the call to a loaded model. */
  readonly loadSeconds: number;
  /** Longest text input (tokens, without bos/eos) and longest speech segment (units) of one decode. */
  readonly maxTextTokens: number;
  readonly maxUnits: number;
}

const CLI_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Where `location` (a folder or a package name) is, tried from the working directory, then from this CLI's folder. */
export function findModelDir(location: string): string {
  try {
    return resolveModelLocation(location);
  } catch (first) {
    try {
      return resolveModelLocation(location, { from: CLI_DIR });
    } catch {
      if (location === DEFAULT_MODEL)
        throw new ModelMissingError(
          `the default model ${DEFAULT_MODEL} is not installed here: run \`npm ci\` at the repository's root (it ships in packages/checkpoints/zipper-small), or \`npm install ${DEFAULT_MODEL}\`, or pass --model DIR (the --out of zipper fuse train)`,
        );
      throw first;
    }
  }
}

/** What the model must be given to load: a run directory (run.json), not a tower or a data build. */
function checkRunDir(dir: string): void {
  if (existsSync(path.join(dir, 'run.json'))) return;
  const hint = 'pass --model the --out of zipper fuse train (run.json + model/) or a zipped checkpoint package';
  if (existsSync(path.join(dir, 'tower'))) throw new UsageError(`--model ${dir} is a single pretrained tower, not a zipped model; ${hint}`);
  if (existsSync(path.join(dir, 'zipper.json')))
    throw new UsageError(`--model ${dir} is the model/ folder of a run; pass the run directory above it (${path.dirname(dir)})`);
  throw new UsageError(`--model ${dir} has no run.json; ${hint}`);
}

/** Loads the model for the apps; the caller disposes `m`. */
export async function openAppModel(location: string | undefined): Promise<AppModel> {
  const t0 = performance.now();
  const given = location ?? DEFAULT_MODEL;
  if (given.trim() === '') throw new UsageError('--model is empty; pass a run directory or a checkpoint package name');
  const dir = findModelDir(given);
  checkRunDir(dir);
  const m = await loadTrainedModel(dir);
  const { text, speech } = m.run.towers;
  const fuse = m.run.kind === 'fuse';
  const total = m.run.model.maxSeqLen ?? 0;
  // a zipped model has one stream per tower; the single decoder holds both segments in one stream
  const maxTextTokens = (fuse ? text.config.maxSeqLen : total - speech.config.maxSeqLen) - 2;
  const maxUnits = (fuse ? speech.config.maxSeqLen : total - text.config.maxSeqLen) - 2;
  if (maxTextTokens < 1 || maxUnits < 1) {
    m.dispose();
    throw new UsageError(`${dir}: the model leaves no room for its inputs (maxSeqLen ${total}); retrain it with a larger --max-seq-len`);
  }
  return { m, dir, location: given, loadSeconds: (performance.now() - t0) / 1000, maxTextTokens, maxUnits };
}
