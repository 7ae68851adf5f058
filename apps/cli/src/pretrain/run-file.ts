/**
 * `OUT/run.json` of a pretraining run: everything needed to reproduce it (the command, seed,
 * preset with every resolved value, the data build's sha256, the tokenizer's) and to resume it.
 */
import { readFileSync } from 'node:fs';
import { CheckpointError } from '@zipper/core';
import type { TokenizerRecord } from './prepare.js';
import type { Modality, PretrainPreset } from './presets.js';
import type { BuildRef } from '@zipper/data';
import type { BestEvaluation } from '../training/session.js';

export const PRETRAIN_RUN_FORMAT = 'zipper-pretrain-run';
export const PRETRAIN_RUN_VERSION = 1;

export interface PretrainRun {
  readonly format: typeof PRETRAIN_RUN_FORMAT;
  readonly version: number;
  /** The command that starts this run again from scratch (same outputs with the same data). */
  readonly command: string;
  readonly modality: Modality;
  readonly preset: string;
  /** The preset's values, `--steps` applied. */
  readonly config: PretrainPreset;
  readonly seed: number;
  /** The data build it trained on (`buildRef`). */
  readonly data: BuildRef;
  readonly tokenizer: TokenizerRecord;
  readonly counts: {
    readonly trainItems: number;
    readonly heldOutItems: number;
    readonly trainTokens: number;
    readonly heldOutTokens: number;
  };
  readonly tokensPerStep: number;
  readonly parameters: number;
  /** --name: the checkpoint package's npm name (absent: `@zipper/checkpoint-<modality>-<preset>`). */
  readonly packageName?: string;
  /** --keep-best: OUT/best holds the run as of its lowest held-out loss (`total`; absent = none). */
  readonly keepBest?: string;
  /** --lm (text towers): the word LM the checkpoint package ships as lm.safetensors, kept in the run as OUT/lm.safetensors. */
  readonly wordLm?: WordLmRecord;
  readonly createdAt: string;
  /** In OUT/best/run.json only (--keep-best): the evaluation kept; `command` then ends in `--until-step` its step. */
  readonly best?: BestEvaluation;
}

/** What a run records of the word LM its package ships (`zipper lm build`'s file). */
export interface WordLmRecord {
  readonly sha256: string;
  readonly bytes: number;
  readonly order: number;
  readonly words: number;
  /** Words of its dictionary beyond the lexicon (0: none). */
  readonly dictionary: number;
}

export function readPretrainRun(file: string): PretrainRun {
  let v: PretrainRun;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as PretrainRun;
  } catch (e) {
    throw new CheckpointError(`${file}: not readable JSON (${(e as Error).message}); restore the run directory or start a new run`);
  }
  if (v?.format !== PRETRAIN_RUN_FORMAT || v.version !== PRETRAIN_RUN_VERSION) {
    throw new CheckpointError(
      `${file}: format ${JSON.stringify(v?.format)} v${v?.version} is not ${PRETRAIN_RUN_FORMAT} v${PRETRAIN_RUN_VERSION}; is this a \`zipper pretrain\` run directory?`,
    );
  }
  for (const k of ['command', 'modality', 'preset', 'config', 'seed', 'data', 'tokenizer'] as const) {
    if (v[k] === undefined) throw new CheckpointError(`${file}: field "${k}" is missing; restore the run directory or start a new run`);
  }
  return v;
}
