/**
 * `OUT/run.json` of a fused run (`zipper fuse train`, `zipper baseline train`): everything needed
 * to reproduce it (the command, seed, recipe, tasks and mixture, the exact towers and data build)
 * and to resume it, decode with it (`zipper fuse generate --model OUT`) or evaluate it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError } from '@zipper/core';
import type { AlignedData } from './aligned.js';
import type { InitFrom } from './init-from.js';
import type { Interpolation } from './interpolate.js';
import type { Soup } from './soup.js';
import type { ModelKind } from './models.js';
import type { Modality, TowerRef } from './towers.js';
import type { BuildRef } from '@zipper/data';
import type { BestEvaluation } from '../training/session.js';

export const FUSE_RUN_FORMAT = 'zipper-fuse-run';
export const FUSE_RUN_VERSION = 1;
/** The trained model, in its release format, under OUT (rewritten at every checkpoint). */
export const MODEL_DIR = 'model';

export type TaskName = 'asr' | 'tts';

export interface FuseRecipe {
  readonly steps: number;
  readonly batchSize: number;
  readonly peakLr: number;
  readonly minLr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  readonly clip: number;
  /** Checkpoint (and model, plot) every N steps; keep the newest `keep` training checkpoints. */
  readonly every: number;
  readonly keep: number;
  readonly evalEvery: number;
  /** Learning-rate multiple of the unfrozen towers' own weights (fuse --tower-lr-scale; absent = 1). */
  readonly towerLrScale?: number;
  /** --keep-best: OUT/best holds the model of the best held-out evaluation by this (`total` or a stream; absent = none). */
  readonly keepBest?: string;
  /** --unit-noise: probability of replacing each speech unit fed in TTS examples by a random unit (@zipper/fuse InputNoise; absent = 0). */
  readonly unitNoise?: number;
}

/** How a released package's weights came to be: the commands of its card's training block and the lines naming their placeholders. */
export interface Lineage {
  readonly commands: readonly string[];
  readonly legend: readonly string[];
}

export interface FuseRun {
  readonly format: typeof FUSE_RUN_FORMAT;
  readonly version: number;
  readonly kind: ModelKind;
  /** The command that starts this run again from scratch (same outputs with the same towers and data). */
  readonly command: string;
  readonly seed: number;
  readonly towers: Readonly<Record<Modality, TowerRef>>;
  /** The data build (`buildRef`) and the aligned fraction trained on. */
  readonly data: BuildRef & {
    readonly fraction: number;
    readonly percent: number;
  };
  readonly tasks: readonly TaskName[];
  /** The audio of ASR examples: `asr` (aligned-asr, the other voices; absent = this) or `asr,tts` (both renderings of every pair). */
  readonly asrAudio?: AsrAudio;
  /** --init-from: the run whose trained weights this one started from, and their sha256 (absent: a fresh initialization). */
  readonly initFrom?: InitFrom;
  /** `zipper fuse interpolate`: these weights are (1 - alpha) x the --init-from weights + alpha x the run's (absent: the run's own). */
  readonly interpolate?: Interpolation;
  /** `zipper fuse soup`: these weights are a weighted average of the parts' (this run.json is the first part's, plus `soup`; absent: the run's own). */
  readonly soup?: Soup;
  /**
   * Only in a released package's run.json (`zipper fuse release`): the model card's training
   * block, i.e. every command that made these weights, oldest first, with the card's placeholders
   * (`OUT`, `INIT`, `DATA`, ...), and the lines naming `INIT`, `INIT_2`, ... . A run started
   * from the package with `--init-from` reads its chain from here (not from the card's text).
   */
  readonly lineage?: Lineage;
  /** Relative sampling weights by task (by example count), e.g. { asr: 1, tts: 1.26 }. */
  readonly mix: Readonly<Record<TaskName, number>>;
  readonly recipe: FuseRecipe;
  /** fuse: cross-attention layers per direction, projection layers, frozen towers; baseline: the one stream's maxSeqLen. */
  readonly model: {
    readonly crossLayers?: number;
    readonly projectionLayers?: number;
    /** The cross-attention gates' initial value (absent: 0). */
    readonly crossGate?: number;
    /** The cross-attention output weights started at 0 (absent: false). */
    readonly zeroOutput?: boolean;
    /** Weight of the auxiliary CTC loss of the text <- speech head (absent: 0, no head). */
    readonly ctcWeight?: number;
    /** The CTC head's labels (with ctcWeight; absent: bytes). */
    readonly ctcLabels?: 'bytes' | 'tokens';
    /** Bidirectional blocks of the CTC head (with ctcWeight; absent: 0). */
    readonly ctcEncoderLayers?: number;
    /** The text <- speech links read the CTC head's encoder (absent: false). */
    readonly ctcFeedLinks?: boolean;
    /** The cross-attention gates kept at their initial value (absent: false, they train). */
    readonly freezeGates?: boolean;
    /** Fusion weights held at their initial (or --init-from) value, by key prefix (`--freeze-params`; absent: none). */
    readonly freezeParams?: readonly string[];
    /** With initFrom: every cross-attention gate set to this raw value, its output weight rescaled so the model computed the same (@zipper/fuse reopenGates; absent: the source's gates). */
    readonly reopenGates?: number;
    /** Weight of the alignment prior (FusedLossOptions.alignWeight; absent: 0, off). */
    readonly alignWeight?: number;
    /** --self-feed: the rate at which TTS examples' fed speech units are the model's own predictions (FusedLossOptions.selfFeed; absent: 0, off). */
    readonly selfFeed?: number;
    /** Rotary cross positions (config.crossRope; absent: none), rates measured on the training pairs (with --cross-rope-bytes, the text's byte weights). */
    readonly crossRope?: readonly {
      readonly to: string;
      readonly from: string;
      readonly rate: number;
      readonly sourceWeights?: readonly number[];
    }[];
    readonly freeze?: readonly string[];
    readonly maxSeqLen?: number;
  };
  readonly counts: AlignedData['counts'];
  readonly parameters: { readonly total: number; readonly trained: number };
  readonly createdWith: Readonly<Record<string, string>>;
  readonly createdAt: string;
  /** In OUT/best/run.json only (--keep-best): the evaluation these weights were kept for; `command` then ends in `--until-step` its step. */
  readonly best?: BestEvaluation;
}

/**
 * Which renderings of a pair serve as ASR examples: aligned-asr (the other seen voices) always,
 * aligned-tts (the TTS voice) with `tts`, aligned-noisy (the aligned-asr audio again with tempo and
 * noise; a data build made with --noisy) with `noisy`.
 */
export const ASR_AUDIO = ['asr', 'asr,tts', 'asr,noisy', 'asr,tts,noisy'] as const;
export type AsrAudio = (typeof ASR_AUDIO)[number];

/** The run.json of run directory `dir` (the --out of zipper fuse train / baseline train). */
export function readRunDir(dir: string): FuseRun {
  const runFile = path.join(path.resolve(dir), 'run.json');
  if (!existsSync(runFile))
    throw new CheckpointError(
      `${path.resolve(dir)} has no run.json; pass the --out directory of zipper fuse train or zipper baseline train`,
    );
  return readFuseRun(runFile);
}

export function readFuseRun(file: string): FuseRun {
  let v: FuseRun;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as FuseRun;
  } catch (e) {
    throw new CheckpointError(`${file}: not readable JSON (${(e as Error).message}); restore the run directory or start a new run`);
  }
  if (v?.format !== FUSE_RUN_FORMAT || v.version !== FUSE_RUN_VERSION) {
    throw new CheckpointError(
      `${file}: format ${JSON.stringify(v?.format)} v${v?.version} is not ${FUSE_RUN_FORMAT} v${FUSE_RUN_VERSION}; is this a \`zipper fuse train\` or \`zipper baseline train\` run directory?`,
    );
  }
  for (const k of ['kind', 'command', 'seed', 'towers', 'data', 'tasks', 'mix', 'recipe', 'model'] as const) {
    if (v[k] === undefined) throw new CheckpointError(`${file}: field "${k}" is missing; restore the run directory or start a new run`);
  }
  return v;
}

/** The folder a recorded command wrote: its last `--out` (undefined without one). */
export function outOf(command: string): string | undefined {
  return [...command.matchAll(/(?:^|\s)--out\s+(\S+)/g)].at(-1)?.[1];
}
