/**
 * `zipper fuse train` and `zipper baseline train`: one command body for both models (models.ts),
 * on the same aligned data (aligned.ts), task mixture, loop and outputs (training/session.ts,
 * shared with `zipper pretrain`): progress with per-stream losses, held-out loss per stream on
 * the dev split, atomic training checkpoints, exact `--resume` after a kill, `--minutes` chunks,
 * loss.jsonl + loss.svg per stream, and the trained model in its release format in OUT/model
 * (rewritten at every checkpoint), which `zipper fuse generate --model OUT` loads.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { defaultDataParallelWorkers, evaluateStreams, initBackend, latestCheckpoint, withPrefixedStreams } from '@zipper/core';
import { DataDir } from '@zipper/data/node';
import { ASR, reopenGates, TaskMixture, taskExample, towerLrScale, TTS, type AlignedItem, type CrossRopeSpec } from '@zipper/fuse';
import { intArg, numArg, parse, probabilityArg, seedArg } from '../args.js';
import { UsageError } from '../command.js';
import { runSession, TRAIN_DIR } from '../training/session.js';
import { asrSources, crossRopeByteWeights, crossRopeRates, parseFraction, prepareAligned, type LengthLimit } from './aligned.js';
import { checkKeepBest, keepBestArg, NOISY_HELD_OUT, saveBestModel } from './best.js';
import { checkInitSource, initFrom } from './init-from.js';
import { createBaselineModel, createFuseModel, tokenBytesMap, type CtcLabelKind, type ModelKind, type RunModel } from './models.js';
import {
  FUSE_RUN_FORMAT,
  FUSE_RUN_VERSION,
  MODEL_DIR,
  readFuseRun,
  ASR_AUDIO,
  type AsrAudio,
  type FuseRecipe,
  type FuseRun,
  type TaskName,
} from './run-file.js';
import { loadTowers, MODALITIES, parseTowerOptions, recordedLocations, type Modality } from './towers.js';
import { buildRef } from '@zipper/data';

const FUSE_DEFAULTS = { lr: 1e-3 };
const BASELINE_DEFAULTS = { lr: 1e-3 }; // the sweep of docs/fuse-cli.md, "Choosing the baseline's learning rate"
const DEFAULTS = { steps: 1000, batch: 8, mix: '1:1.26', every: 250, weightDecay: 0.1, clip: 1, keep: 2 } as const;
/** The paper's mixture: ASR : TTS = 1 : 1.26 by example count. */
const TASKS: Readonly<Record<TaskName, typeof ASR>> = { asr: ASR, tts: TTS };

export function trainUsage(kind: ModelKind): string {
  const cmd = kind === 'fuse' ? 'zipper fuse train' : 'zipper baseline train';
  const only =
    kind === 'fuse'
      ? ' [--freeze text[,speech]|none] [--cross-layers N] [--projection-layers N] [--gate-init X] [--freeze-gates] [--freeze-params P,...] [--reopen-gates X] [--zero-output] [--ctc-weight X] [--ctc-labels bytes|tokens] [--ctc-encoder-layers N] [--ctc-feed-links] [--align-weight X] [--cross-rope] [--cross-rope-bytes] [--self-feed P] [--tower-lr-scale X]'
      : ' [--max-seq-len N]';
  return `usage:
  ${cmd} --tower text=DIR|PACKAGE --tower speech=DIR|PACKAGE --aligned DATA_DIR --fraction 0.01|0.1|1 --out DIR
      [--tasks asr,tts] [--mix ASR:TTS] [--asr-audio asr|asr,tts|asr,noisy|asr,tts,noisy] [--unit-noise P] [--steps N] [--batch N] [--lr X] [--seed N]${only}
      [--init-from RUN_DIR|PACKAGE] [--every N] [--eval-every N] [--keep-best total|STREAM] [--workers N] [--minutes M] [--no-progress]
  ${cmd} --out DIR --resume [--tower NAME=DIR] [--aligned DIR] [--workers N] [--minutes M] [--until-step N]

${
  kind === 'fuse'
    ? `Zips the text and speech towers (zipper pretrain outputs or checkpoint packages) with gated
cross-attention (--cross-layers N per direction, default every layer of the shallower tower;
--projection-layers 3, the paper's; --gate-init X, the cross-attention gates' initial value, default
0, the paper's; --freeze-gates keeps the gates at that value instead of training them (not in the
paper); --freeze-params P,... holds the fusion weights whose keys start with a prefix P at their
initial (or --init-from) value, e.g. inproj.speech,ctc.,cross.text_from_speech. (the recognition
path) for a TTS-only stage, which would otherwise train the shared speech input projection and
decay the rest (AdamW's weight decay reaches weights without gradient; not in the paper);
--zero-output starts the cross-attention output weights at 0, so that with
--gate-init X > 0 the model still starts as the lone towers and no gate has to leave 0;
--ctc-weight X > 0 adds a CTC head predicting the text from the speech positions through
the first text <- speech link's projection, its loss weighted X, over the bytes of the text
(--ctc-labels bytes, default) or its tokens (tokens), through N bidirectional blocks over each
speech segment (--ctc-encoder-layers N, default 0) so a frame's label can depend on the frames
after it; --ctc-feed-links makes the text <- speech cross-attention read that encoder's output
instead of its own projection of the speech tower (hybrid CTC/attention, as ESPnet's decoder
reads the encoder CTC shapes); not in the paper; --align-weight X > 0 adds
an alignment prior, DC-TTS's guided attention: a loss, weighted X, on the cross-attention mass
far from the diagonal of (reader position / its length, source position / its length), so the
attention learns to read the source in order; not in the paper; --cross-rope gives the
cross-attention rotary positions, text position n at n * r and speech position m at m, r the
training pairs' speech positions per text position, so it can follow the diagonal; not in the
paper; --cross-rope-bytes (with --cross-rope) counts the text positions the speech reads by their
bytes (a token at the bytes before it, scaled so that a text position weighs 1 on average): a
long word is one token and many units, so the diagonal follows the speech better than by ranks
(docs/zipper.md, "Weighted source positions"; not in the paper); --self-feed P: scheduled sampling, each training step first predicts every unit of its TTS
examples greedily (no gradient), then feeds each true unit after the bos, with probability P, as
the model's prediction of it, the targets kept, so it learns to go on from pasts like those it
generates (default 0; not in the paper)) and fine-tunes on
the aligned pairs; --freeze text (default)
keeps the text tower's weights bit-identical, --freeze text,speech both, --freeze none neither;
--tower-lr-scale X trains the unfrozen towers' own weights at X times the learning rate (a
parameter group; the fusion weights at the full rate).`
    : `Trains the paper's single decoder: the text tower with the speech tower's units as new
embedding rows, every weight fine-tuned, one stream holding both segments (--max-seq-len,
default text + speech tower maxSeqLen). Choose --lr by a small sweep on the held-out loss
(docs/fuse-cli.md).`
}
ASR examples: [speech of aligned-asr (other voices)][text], target text; TTS: [text][speech of
aligned-tts (the TTS voice)], target speech (--asr-audio asr,tts: ASR reads both renderings
of each pair, the TTS voice's too; ...,noisy: also the aligned-asr audio with tempo changes and
additive noise, aligned-noisy of a data build made with --noisy); mixed --mix ASR:TTS by example count (default
${DEFAULTS.mix}, the paper's). --unit-noise P (not in the paper): in TTS examples each speech unit
fed to the model (not the bos) is replaced, with probability P, by a random unit, the targets
kept, so the next unit must come more from the text (Tacotron's pre-net dropout; default 0). --fraction picks the nested 1% / 10% / 100% subset. Held-out loss
per stream (text, speech) on the dev split. Defaults: --steps ${DEFAULTS.steps} --batch ${DEFAULTS.batch} --lr ${kind === 'fuse' ? FUSE_DEFAULTS.lr : BASELINE_DEFAULTS.lr} (cosine to lr/10,
warmup min(100, steps/10)), AdamW weight decay ${DEFAULTS.weightDecay}, clip ${DEFAULTS.clip}, checkpoint every ${DEFAULTS.every} steps.
Writes OUT/run.json (the command, towers with sha256s, data build, recipe), OUT/train/step-N/,
OUT/model/ (the trained model, rewritten at every checkpoint), OUT/loss.jsonl, OUT/loss.svg,
OUT/sessions.jsonl. --init-from RUN_DIR starts from that run's trained weights (RUN_DIR/model:
same kind, same tower checkpoints, same weight keys and shapes) instead of a fresh
initialization, with this run's schedule, seed and a fresh optimizer: a warm start, e.g. more
passes for an underfit model (run.json records the source and the sha256 of its weights).
--init-from PACKAGE (a zipper fuse release package, by folder or installed name) starts from
its released weights; run.json also keeps the commands its model card names, so this run's
release names the whole chain.
--reopen-gates X (with --init-from; not in the paper) sets every cross-attention gate of the
source to X (raw, as --gate-init) and scales each gate's output weight by tanh(old) / tanh(X), so
the model starts computing exactly what the source did, with gates trained to about 0 open again;
--freeze-gates with --init-from needs it (else the source's gates would be held where they are).
--keep-best BY keeps OUT/best/, the run as of its best held-out evaluation past step 0 so far,
by the total held-out loss (total) or one stream's (text, speech, text_ctc, align; with
--asr-audio ...,noisy also dev-noisy's ASR streams, noisy_text, noisy_text_ctc, noisy_align): a run
directory (run.json with \`best\` and the command + --until-step STEP that reproduces it, model/,
loss.jsonl, sessions.jsonl, loss.svg), so every command that takes a run takes OUT/best.
--resume continues exactly after a kill; --minutes M stops after M minutes
with a checkpoint; --until-step N stops at step N (held-out loss and a checkpoint there) without
changing the schedule, so OUT/model as of step N is reproduced by the run's command with the same
--until-step. --workers N: data-parallel worker threads (default 1 on 2+ cores).`;
}

const OPTIONS = {
  tower: { type: 'string', multiple: true },
  tasks: { type: 'string' },
  aligned: { type: 'string' },
  fraction: { type: 'string' },
  freeze: { type: 'string' },
  out: { type: 'string' },
  steps: { type: 'string' },
  minutes: { type: 'string' },
  'until-step': { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  lr: { type: 'string' },
  batch: { type: 'string' },
  mix: { type: 'string' },
  every: { type: 'string' },
  'eval-every': { type: 'string' },
  'cross-layers': { type: 'string' },
  'projection-layers': { type: 'string' },
  'gate-init': { type: 'string' },
  'ctc-weight': { type: 'string' },
  'zero-output': { type: 'boolean' },
  'freeze-gates': { type: 'boolean' },
  'freeze-params': { type: 'string' },
  'reopen-gates': { type: 'string' },
  'ctc-labels': { type: 'string' },
  'ctc-encoder-layers': { type: 'string' },
  'ctc-feed-links': { type: 'boolean' },
  'align-weight': { type: 'string' },
  'self-feed': { type: 'string' },
  'cross-rope': { type: 'boolean' },
  'cross-rope-bytes': { type: 'boolean' },
  'tower-lr-scale': { type: 'string' },
  'asr-audio': { type: 'string' },
  'max-seq-len': { type: 'string' },
  'unit-noise': { type: 'string' },
  'init-from': { type: 'string' },
  'keep-best': { type: 'string' },
  resume: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Options that shape the run: refused with --resume (run.json has them). */
const RUN_OPTIONS = [
  'init-from',
  'keep-best',
  'tasks',
  'fraction',
  'freeze',
  'steps',
  'seed',
  'lr',
  'batch',
  'mix',
  'every',
  'eval-every',
  'cross-layers',
  'projection-layers',
  'gate-init',
  'ctc-weight',
  'ctc-labels',
  'ctc-encoder-layers',
  'ctc-feed-links',
  'align-weight',
  'self-feed',
  'cross-rope',
  'cross-rope-bytes',
  'tower-lr-scale',
  'zero-output',
  'freeze-gates',
  'freeze-params',
  'reopen-gates',
  'asr-audio',
  'unit-noise',
  'max-seq-len',
] as const;
const FUSE_ONLY = [
  'freeze',
  'cross-layers',
  'projection-layers',
  'gate-init',
  'freeze-gates',
  'freeze-params',
  'reopen-gates',
  'zero-output',
  'ctc-weight',
  'ctc-labels',
  'ctc-encoder-layers',
  'ctc-feed-links',
  'align-weight',
  'self-feed',
  'cross-rope',
  'cross-rope-bytes',
  'tower-lr-scale',
] as const;
const BASELINE_ONLY = ['max-seq-len'] as const;

/** --tower-lr-scale X: a finite X >= 0, and some tower must train for it to mean anything. */
function towerLrScaleArg(v: string, freeze: readonly string[]): number {
  const x = Number(v);
  if (v.trim() === '' || !(x >= 0 && Number.isFinite(x))) throw new UsageError(`--tower-lr-scale takes a number >= 0, got "${v}"`);
  if (MODALITIES.every((m) => freeze.includes(m)))
    throw new UsageError(
      '--tower-lr-scale scales the learning rate of unfrozen towers, but --freeze freezes both; pass --freeze text (or none)',
    );
  return x;
}

/** --freeze-params P,...: fusion weight key prefixes (checked against the model when it is built); none when absent. */
function freezeParamsArg(v: string | undefined): string[] {
  if (v === undefined) return [];
  const prefixes = v.split(',').map((p) => p.trim());
  if (prefixes.some((p) => p === '')) throw new UsageError(`--freeze-params takes weight key prefixes separated by commas, got "${v}"`);
  return [...new Set(prefixes)];
}

/** --unit-noise P: a probability in [0, 1); it corrupts TTS examples' speech, so the run must train TTS. */
function unitNoiseArg(v: string, tasks: readonly TaskName[], mix: Readonly<Record<TaskName, number>>): number {
  const x = probabilityArg(v, 'unit-noise');
  if (!tasks.includes('tts') || mix.tts === 0)
    throw new UsageError('--unit-noise corrupts the speech fed in TTS examples; this run has none (--tasks, --mix)');
  return x;
}

function parseTasks(v: string | undefined): TaskName[] {
  const names = (v ?? 'asr,tts').split(',').map((s) => s.trim());
  for (const n of names) if (n !== 'asr' && n !== 'tts') throw new UsageError(`--tasks takes asr, tts or asr,tts, got "${v}"`);
  if (new Set(names).size !== names.length) throw new UsageError(`--tasks names a task twice: "${v}"`);
  return names as TaskName[];
}

function parseCtcLabels(v: string | undefined): CtcLabelKind {
  const a = v ?? 'bytes';
  if (a !== 'bytes' && a !== 'tokens')
    throw new UsageError(`--ctc-labels takes bytes (the text's UTF-8 bytes) or tokens (its BPE tokens), got "${v}"`);
  return a;
}

function parseAsrAudio(v: string | undefined): AsrAudio {
  const a = v ?? 'asr';
  if (!(ASR_AUDIO as readonly string[]).includes(a))
    throw new UsageError(
      `--asr-audio takes asr (the aligned-asr voices), asr,tts (both renderings of each pair), asr,noisy or asr,tts,noisy (also the aligned-asr audio with tempo and noise, from a data build made with --noisy), got "${v}"`,
    );
  return a as AsrAudio;
}

function parseMix(v: string): Record<TaskName, number> {
  const m = /^\s*([0-9.eE+-]+)\s*:\s*([0-9.eE+-]+)\s*$/.exec(v);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!(a >= 0 && b >= 0 && Number.isFinite(a + b) && a + b > 0))
    throw new UsageError(`--mix takes ASR:TTS weights by example count (e.g. 1:1.26, the paper's), got "${v}"`);
  return { asr: a, tts: b };
}

function parseFreeze(v: string | undefined): string[] {
  if (v === undefined) return ['text'];
  if (v.trim() === 'none') return [];
  const names = v.split(',').map((s) => s.trim());
  for (const n of names)
    if (!(MODALITIES as readonly string[]).includes(n))
      throw new UsageError(`--freeze takes text, speech, text,speech or none, got "${v}"`);
  return [...new Set(names)];
}

function lrArg(v: string | undefined, fallback: number): number {
  const lr = numArg(v, 'lr', fallback);
  if (!(lr > 0)) throw new UsageError(`--lr must be > 0, got "${v}"`);
  return lr;
}

export async function runFusedTraining(kind: ModelKind, argv: readonly string[]): Promise<number> {
  const USAGE = trainUsage(kind);
  const { values: v } = parse(argv, OPTIONS, USAGE);
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  for (const k of kind === 'fuse' ? BASELINE_ONLY : FUSE_ONLY)
    if (v[k] !== undefined) throw new UsageError(`--${k} is not an option of zipper ${kind} train (see zipper ${kind} train --help)`);
  if (!v.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
  const out = path.resolve(v.out);
  const runFile = path.join(out, 'run.json');
  const log = (s: string) => void process.stderr.write(`${s}\n`);
  const maxSeconds = v.minutes === undefined ? undefined : numArg(v.minutes, 'minutes', 0) * 60;
  const untilStep = v['until-step'] === undefined ? undefined : intArg(v['until-step'], 'until-step', 0, 1);
  const given = parseTowerOptions(v.tower, { optional: v.resume });

  let run: FuseRun | undefined;
  if (v.resume) {
    const refused = RUN_OPTIONS.filter((k) => v[k] !== undefined);
    if (refused.length > 0)
      throw new UsageError(
        `--resume continues the run in ${out} with the options in its run.json; ${refused.map((k) => `--${k}`).join(', ')} cannot change on resume`,
      );
    if (!existsSync(runFile)) throw new UsageError(`--resume: no run.json in ${out}; start the run without --resume first`);
    run = readFuseRun(runFile);
    if (run.kind !== kind)
      throw new UsageError(`${out} holds a zipper ${run.kind} train run, not ${kind}; resume it with zipper ${run.kind} train --resume`);
  } else {
    if (!v.aligned) throw new UsageError(`--aligned DATA_DIR is required (the --out of zipper data build)\n\n${USAGE}`);
    if (existsSync(path.join(out, TRAIN_DIR)) || existsSync(runFile))
      throw new UsageError(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
  }
  // parse every option before any heavy work
  const percent = run ? (run.data.percent as 1 | 10 | 100) : parseFraction(v.fraction);
  const tasks = run ? [...run.tasks] : parseTasks(v.tasks);
  const mix = run ? run.mix : parseMix(v.mix ?? DEFAULTS.mix);
  const freeze = run ? [...(run.model.freeze ?? [])] : kind === 'fuse' ? parseFreeze(v.freeze) : [];
  const seed = run?.seed ?? seedArg(v.seed);
  const steps = run?.recipe.steps ?? intArg(v.steps, 'steps', DEFAULTS.steps, 1);
  const every = run?.recipe.every ?? Math.min(intArg(v.every, 'every', DEFAULTS.every, 1), steps);
  const recipe: FuseRecipe = run?.recipe ?? {
    steps,
    batchSize: intArg(v.batch, 'batch', DEFAULTS.batch, 1),
    peakLr: lrArg(v.lr, kind === 'fuse' ? FUSE_DEFAULTS.lr : BASELINE_DEFAULTS.lr),
    minLr: lrArg(v.lr, kind === 'fuse' ? FUSE_DEFAULTS.lr : BASELINE_DEFAULTS.lr) / 10,
    warmup: Math.min(100, Math.ceil(steps / 10)),
    weightDecay: DEFAULTS.weightDecay,
    clip: DEFAULTS.clip,
    every,
    keep: DEFAULTS.keep,
    evalEvery: Math.min(intArg(v['eval-every'], 'eval-every', every, 1), steps),
    ...(v['keep-best'] !== undefined ? { keepBest: keepBestArg(v['keep-best']) } : {}),
    ...(v['tower-lr-scale'] !== undefined ? { towerLrScale: towerLrScaleArg(v['tower-lr-scale'], freeze) } : {}),
    ...(v['unit-noise'] !== undefined ? { unitNoise: unitNoiseArg(v['unit-noise'], tasks, mix) } : {}),
  };
  const crossLayersArg = run
    ? run.model.crossLayers
    : v['cross-layers'] === undefined
      ? undefined
      : intArg(v['cross-layers'], 'cross-layers', 1, 1);
  const projectionLayers = run?.model.projectionLayers ?? intArg(v['projection-layers'], 'projection-layers', 3, 1);
  const crossGate = run?.model.crossGate ?? numArg(v['gate-init'], 'gate-init', 0);
  const ctcWeight = run ? (run.model.ctcWeight ?? 0) : numArg(v['ctc-weight'], 'ctc-weight', 0);
  const zeroOutput = run ? (run.model.zeroOutput ?? false) : v['zero-output'] === true;
  const freezeGates = run ? (run.model.freezeGates ?? false) : v['freeze-gates'] === true;
  const freezeParams = run ? (run.model.freezeParams ?? []) : freezeParamsArg(v['freeze-params']);
  const reopen = run ? run.model.reopenGates : v['reopen-gates'] === undefined ? undefined : numArg(v['reopen-gates'], 'reopen-gates', 0);
  if (!run && reopen !== undefined && (reopen === 0 || v['init-from'] === undefined))
    throw new UsageError(
      '--reopen-gates X (X != 0) sets the gates of the --init-from source to X, rescaling their output weights so the model computes the same; it needs --init-from',
    );
  if (!run && freezeGates && v['init-from'] !== undefined && reopen === undefined)
    throw new UsageError(
      "--freeze-gates with --init-from would hold the source's trained gates where they are (training leaves them near 0, shutting the links); give --reopen-gates X to set them to X first, the model unchanged",
    );
  if (!run && freezeGates && v['init-from'] === undefined && crossGate === 0)
    throw new UsageError('--freeze-gates needs --gate-init X != 0 (gates frozen at 0 would shut the cross-attention for good)');
  const alignWeight = run ? (run.model.alignWeight ?? 0) : numArg(v['align-weight'], 'align-weight', 0);
  const selfFeed = run ? (run.model.selfFeed ?? 0) : numArg(v['self-feed'], 'self-feed', 0, 0, 1);
  const crossRopeBytes = !run && v['cross-rope-bytes'] === true;
  if (crossRopeBytes && v['cross-rope'] !== true)
    throw new UsageError('--cross-rope-bytes counts the source positions of --cross-rope by bytes; it needs --cross-rope');
  if (!run && selfFeed > 0 && (!tasks.includes('tts') || mix.tts === 0))
    throw new UsageError('--self-feed feeds TTS examples their own predicted speech; this run has none (--tasks, --mix)');
  const ctcLabels = run ? (run.model.ctcLabels ?? 'bytes') : parseCtcLabels(v['ctc-labels']);
  if (!run && v['ctc-labels'] !== undefined && ctcWeight === 0)
    throw new UsageError('--ctc-labels needs --ctc-weight X > 0 (the CTC head it shapes)');
  const ctcEncoderLayers = run ? (run.model.ctcEncoderLayers ?? 0) : intArg(v['ctc-encoder-layers'], 'ctc-encoder-layers', 0, 0);
  if (!run && ctcEncoderLayers > 0 && ctcWeight === 0)
    throw new UsageError('--ctc-encoder-layers needs --ctc-weight X > 0 (the CTC head it feeds)');
  const ctcFeedLinks = run ? (run.model.ctcFeedLinks ?? false) : v['ctc-feed-links'] === true;
  if (!run && ctcFeedLinks && ctcEncoderLayers === 0)
    throw new UsageError('--ctc-feed-links needs --ctc-encoder-layers N > 0 (the links read that encoder)');
  const asrAudio = run ? (run.asrAudio ?? 'asr') : parseAsrAudio(v['asr-audio']);
  const maxSeqLenArg = run
    ? run.model.maxSeqLen
    : v['max-seq-len'] === undefined
      ? undefined
      : intArg(v['max-seq-len'], 'max-seq-len', 1, 8);
  const active = tasks.filter((t) => mix[t] > 0);
  if (active.length === 0) throw new UsageError(`--mix gives every task of --tasks ${tasks.join(',')} weight 0`);

  const dataDir = path.resolve(v.aligned ?? run!.data.dir);
  const data = DataDir.open(dataDir);
  if (run && data.buildSha256 !== run.data.buildSha256) {
    throw new UsageError(
      `${dataDir}/build.json (sha256 ${data.buildSha256.slice(0, 12)}...) is not the data build this run trained on (${run.data.buildSha256.slice(0, 12)}...); pass --aligned with that build`,
    );
  }

  const info = await initBackend();
  const requested = v.workers === undefined ? defaultDataParallelWorkers(info) : intArg(v.workers, 'workers', 0);
  const towers = await loadTowers(run ? recordedLocations(run.towers, given, out) : (given as Record<Modality, string>), run?.towers);
  const refs = towers.refs;
  const crossLayers = crossLayersArg ?? Math.min(refs.text.config.nLayers, refs.speech.config.nLayers);
  const maxSeqLen = maxSeqLenArg ?? refs.text.config.maxSeqLen + refs.speech.config.maxSeqLen;
  const limit: LengthLimit = {
    text: refs.text.config.maxSeqLen,
    speech: refs.speech.config.maxSeqLen,
    ...(kind === 'baseline' ? { total: maxSeqLen } : {}),
  };
  let model: RunModel | undefined;
  try {
    // --init-from is checked against the loaded towers before the data is featurized (minutes on a full build)
    const source = run ? run.initFrom?.dir : v['init-from'] !== undefined ? checkInitSource(v['init-from'], kind, refs, freeze) : undefined;
    const aligned = prepareAligned(data, percent, towers.text.tokenizer, towers.speech.tokenizer, limit, log, {
      noisy: asrAudio.includes('noisy'),
    });
    // --cross-rope: the rates come from the training pairs (recorded in run.json, reused on --resume)
    // --cross-rope-bytes: speech <- text keys at the text's byte positions (the weights recorded with the rates)
    const crossRope: readonly CrossRopeSpec[] | undefined = run
      ? run.model.crossRope
      : v['cross-rope'] === true
        ? crossRopeRates(aligned).map((r) =>
            crossRopeBytes && r.to === 'speech'
              ? { ...r, sourceWeights: crossRopeByteWeights(aligned, tokenBytesMap(towers.text.tokenizer)) }
              : r,
          )
        : undefined;
    if (crossRope && !run) log(`cross-rope: text <- speech rate ${crossRope[0]!.rate.toFixed(4)} speech positions per text position`);
    if (crossRopeBytes && !run) log('cross-rope-bytes: the speech <- text links count the text by its bytes');
    model =
      kind === 'fuse'
        ? createFuseModel(towers, {
            crossLayers,
            projectionLayers,
            freeze,
            seed,
            crossGate,
            zeroOutput,
            freezeGates,
            freezeParams,
            ctcWeight,
            ctcLabels,
            ctcEncoderLayers,
            ctcFeedLinks,
            alignWeight,
            selfFeed,
            ...(crossRope ? { crossRope } : {}),
          })
        : createBaselineModel(towers, { maxSeqLen, seed });
    const m = model;
    // --init-from: the source's weights replace the fresh ones (on a resume, only before the first checkpoint)
    const init =
      source !== undefined && !(v.resume && (await latestCheckpoint(path.join(out, TRAIN_DIR))))
        ? await initFrom(m, source, refs, run?.initFrom)
        : run?.initFrom;
    if (init && !run) log(`init-from: ${init.dir} (weights sha256 ${init.sha256.slice(0, 12)}...)`);
    // --reopen-gates: on the source's weights, before the first step (a resume past it has them in its checkpoint)
    if (reopen !== undefined && init && init !== run?.initFrom) {
      const gates = reopenGates(m, reopen);
      const from = gates.map((g) => g.from);
      log(
        `reopen-gates: ${gates.length} cross-attention gates set to tanh ${Math.tanh(reopen).toFixed(3)} (were ${Math.min(...from).toFixed(3)} to ${Math.max(...from).toFixed(3)}), their output weights rescaled`,
      );
    }
    const workers = requested;
    const total = [...m.params.values()].reduce((n, p) => n + p.size, 0);
    const trained = [...m.params].filter(([k]) => !m.freezePrefixes.some((p) => k.startsWith(p))).reduce((n, [, p]) => n + p.size, 0);
    mkdirSync(out, { recursive: true });
    if (!run) {
      const towerArgs = MODALITIES.flatMap((x) => ['--tower', `${x}=${refs[x].dir}`]);
      const command = [
        `zipper ${kind} train`,
        ...towerArgs,
        '--tasks',
        tasks.join(','),
        '--aligned',
        dataDir,
        '--fraction',
        String(percent / 100),
        '--out',
        out,
        '--seed',
        String(seed),
        '--steps',
        String(recipe.steps),
        '--batch',
        String(recipe.batchSize),
        '--lr',
        String(recipe.peakLr),
        '--mix',
        `${mix.asr}:${mix.tts}`,
        ...(asrAudio !== 'asr' ? ['--asr-audio', asrAudio] : []),
        ...(recipe.unitNoise !== undefined ? ['--unit-noise', String(recipe.unitNoise)] : []),
        ...(init ? ['--init-from', init.dir] : []),
        ...(reopen !== undefined ? ['--reopen-gates', String(reopen)] : []),
        ...(kind === 'fuse'
          ? [
              '--freeze',
              freeze.length ? freeze.join(',') : 'none',
              '--cross-layers',
              String(crossLayers),
              '--projection-layers',
              String(projectionLayers),
              ...(crossGate !== 0 ? ['--gate-init', String(crossGate)] : []),
              ...(freezeGates ? ['--freeze-gates'] : []),
              ...(freezeParams.length > 0 ? ['--freeze-params', freezeParams.join(',')] : []),
              ...(zeroOutput ? ['--zero-output'] : []),
              ...(ctcWeight !== 0 ? ['--ctc-weight', String(ctcWeight), '--ctc-labels', ctcLabels] : []),
              ...(ctcEncoderLayers > 0 ? ['--ctc-encoder-layers', String(ctcEncoderLayers)] : []),
              ...(ctcFeedLinks ? ['--ctc-feed-links'] : []),
              ...(alignWeight !== 0 ? ['--align-weight', String(alignWeight)] : []),
              ...(selfFeed !== 0 ? ['--self-feed', String(selfFeed)] : []),
              ...(crossRope ? ['--cross-rope'] : []),
              ...(crossRope?.some((r) => r.sourceWeights) ? ['--cross-rope-bytes'] : []),
              ...(recipe.towerLrScale !== undefined ? ['--tower-lr-scale', String(recipe.towerLrScale)] : []),
            ]
          : ['--max-seq-len', String(maxSeqLen)]),
        '--every',
        String(recipe.every),
        '--eval-every',
        String(recipe.evalEvery),
        ...(recipe.keepBest !== undefined ? ['--keep-best', recipe.keepBest] : []),
        '--workers',
        String(workers),
      ].join(' ');
      run = {
        format: FUSE_RUN_FORMAT,
        version: FUSE_RUN_VERSION,
        kind,
        command,
        seed,
        towers: refs,
        data: {
          ...buildRef(dataDir, data.build, data.buildSha256),
          fraction: percent / 100,
          percent,
        },
        tasks,
        ...(asrAudio !== 'asr' ? { asrAudio } : {}),
        ...(init ? { initFrom: init } : {}),
        mix,
        recipe,
        model:
          kind === 'fuse'
            ? {
                crossLayers,
                projectionLayers,
                freeze,
                ...(crossGate !== 0 ? { crossGate } : {}),
                ...(zeroOutput ? { zeroOutput } : {}),
                ...(freezeGates ? { freezeGates } : {}),
                ...(freezeParams.length > 0 ? { freezeParams } : {}),
                ...(reopen !== undefined ? { reopenGates: reopen } : {}),
                ...(ctcWeight !== 0 ? { ctcWeight, ctcLabels } : {}),
                ...(ctcEncoderLayers > 0 ? { ctcEncoderLayers } : {}),
                ...(ctcFeedLinks ? { ctcFeedLinks } : {}),
                ...(alignWeight !== 0 ? { alignWeight } : {}),
                ...(selfFeed !== 0 ? { selfFeed } : {}),
                ...(crossRope ? { crossRope } : {}),
              }
            : { maxSeqLen },
        counts: aligned.counts,
        parameters: { total, trained },
        createdWith: { node: process.versions.node, '@tensorflow/tfjs-core': tf.version_core, backend: info.backend },
        createdAt: new Date().toISOString(),
      };
    }
    // --asr-audio with more than asr: the mixture runs over every rendering it names, N pairs each
    // (index i < N the aligned-asr audio, then the TTS voice's, then the noisy audio); a TTS draw
    // of any index is pair i mod N
    const asrItems = asrSources(asrAudio, aligned);
    const items: AlignedItem[] =
      asrItems.length === aligned.tts.length ? aligned.tts : asrItems.map((_, i) => aligned.tts[i % aligned.tts.length]!);
    const mixture = new TaskMixture(m.config, items, {
      batchSize: recipe.batchSize,
      seed,
      layout: (ex) => m.layout(ex),
      tasks: active.map((t) => ({
        task: TASKS[t],
        weight: mix[t],
        items: t === 'tts' ? items : asrItems,
      })),
      ...(recipe.unitNoise !== undefined ? { inputNoise: { rate: recipe.unitNoise, towers: ['speech'] } } : {}),
    });
    const dev = [
      ...(active.includes('asr') ? aligned.devAsr.map((it) => taskExample(m.config, ASR, it)) : []),
      ...(active.includes('tts') ? aligned.devTts.map((it) => taskExample(m.config, TTS, it)) : []),
    ];
    const batches = (examples: typeof dev) =>
      Array.from({ length: Math.ceil(examples.length / recipe.batchSize) }, (_, i) =>
        m.layout(examples.slice(i * recipe.batchSize, (i + 1) * recipe.batchSize)),
      );
    const heldOut = batches(dev);
    // with the noisy renderings (--asr-audio ...,noisy): dev-noisy's ASR examples, a second held-out
    // set whose streams are logged as noisy_<stream> (e.g. --keep-best noisy_text_ctc)
    const heldOutNoisy =
      active.includes('asr') && aligned.devNoisy ? batches(aligned.devNoisy.map((it) => taskExample(m.config, ASR, it))) : [];
    if (recipe.keepBest !== undefined)
      checkKeepBest(
        recipe.keepBest,
        [
          { prefix: '', batches: heldOut },
          { prefix: NOISY_HELD_OUT, batches: heldOutNoisy },
        ],
        m.spec,
      );
    if (!v.resume) writeFileSync(runFile, `${JSON.stringify(run, null, 2)}\n`); // after every check
    log(
      `zipper ${kind}: ${total.toLocaleString('en-US')} parameters, ${trained.toLocaleString('en-US')} trained${kind === 'fuse' ? ` (frozen: ${freeze.join(', ') || 'none'}; ${crossLayers} cross-attention layers per direction)` : ` (one stream, maxSeqLen ${maxSeqLen})`}; ` +
        `tasks ${active.map((t) => `${t} ${mix[t]}`).join(' : ')}; ${recipe.steps} steps x ${recipe.batchSize} examples = ${((recipe.steps * recipe.batchSize) / aligned.counts.kept).toFixed(1)} epochs of ${aligned.counts.kept} pairs; lr ${recipe.peakLr}; workers ${workers}`,
    );
    let modelStep = -1;
    const result = await runSession<unknown>({
      out,
      model: m,
      data: mixture,
      ...(heldOut.length > 0
        ? {
            heldOut: () => {
              const e = evaluateStreams(m.spec, heldOut);
              return heldOutNoisy.length > 0 ? withPrefixedStreams(e, evaluateStreams(m.spec, heldOutNoisy), NOISY_HELD_OUT) : e;
            },
          }
        : {}),
      local: m.local,
      parallel: m.parallel,
      streams: true,
      trainer: {
        schedule: { peakLr: recipe.peakLr, minLr: recipe.minLr, warmupSteps: recipe.warmup, totalSteps: recipe.steps },
        optimizer: {
          weightDecay: recipe.weightDecay,
          ...(recipe.towerLrScale !== undefined ? { lrScale: towerLrScale(recipe.towerLrScale) } : {}),
        },
        maxGradNorm: recipe.clip,
        freezePrefixes: [...m.freezePrefixes],
      },
      totalSteps: recipe.steps,
      every: recipe.every,
      keep: recipe.keep,
      evalEvery: recipe.evalEvery,
      workers,
      resume: v.resume,
      ...(maxSeconds !== undefined ? { maxSeconds } : {}),
      ...(untilStep !== undefined ? { untilStep } : {}),
      title: `zipper ${kind} train: ${active.join('+')} on ${percent}% aligned (seed ${seed})`,
      progress: !v['no-progress'],
      log,
      onCheckpoint: async (step) => {
        await m.save(path.join(out, MODEL_DIR));
        modelStep = step;
      },
      ...(recipe.keepBest !== undefined ? { best: { by: recipe.keepBest, save: saveBestModel(run!, m) } } : {}),
    });
    // a run killed between its last training checkpoint and the model's write: write it now
    if (result.finished && modelStep !== result.step) await m.save(path.join(out, MODEL_DIR));
    if (result.finished)
      log(`trained model in ${path.join(out, MODEL_DIR)} after ${result.step} steps (decode: zipper ${kind} generate --model ${out})`);
    console.log(
      JSON.stringify({
        kind,
        step: result.step,
        steps: recipe.steps,
        finished: result.finished,
        tokens: result.tokens,
        loss: result.lastLoss,
        streams: result.lastStreams ?? null,
        heldOut: result.lastHeldOut ?? null,
        heldOutStreams: result.lastHeldOutStreams ?? null,
        sessionSeconds: +result.sessionSeconds.toFixed(1),
        tokensPerSecond: Math.round(result.tokensPerSecond),
        workers,
        out,
        model: path.join(out, MODEL_DIR),
      }),
    );
  } finally {
    if (model) model.dispose();
    else {
      towers.text.dispose();
      towers.speech.dispose();
    }
  }
  return 0;
}
