/**
 * Training checkpoints: everything needed to continue the exact same loss curve.
 *
 * `<root>/step-00000120/` (one directory per saved step, written atomically with the checkpoint
 * module's `writeDirAtomic`: a crash leaves either the whole directory or none of it):
 *   model.safetensors      every model parameter (frozen ones too), float32, module-path keys
 *   optimizer.safetensors  AdamW state: `<key>.exp_avg`, `<key>.exp_avg_sq` per trained key
 *   trainer.json           step, optimizer step, data position (seed, epoch, cursor: the RNG
 *                          state), schedule, optimizer hyper-parameters, clipping, accumulation,
 *                          trained keys, sha256 of both tensor files, and `integrity`: the sha256
 *                          of trainer.json's own other fields (trainer-state.ts)
 *
 * Loading checks hashes, the full key sets, every shape and stored dtype (F32 only), the type
 * and range of every trainer.json field, the data position and that the training config equals
 * the trainer's (else the curve would differ), all before changing anything; then it assigns
 * weights, optimizer state, data position and step.
 *
 * Saving and loading first remove the temp folders of saves that a killed process left behind
 * under the root (`removeStaleTemps`; never a finished step directory). A save that fails on the
 * device (disk full, I/O error) throws a CheckpointError saying the saved checkpoints are intact.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resolveCheckpointDir, writeDirAtomic, type WriteHook } from '../checkpoint/atomic.js';
import { decodeSafetensors, encodeSafetensors } from '@zipper/common';
import { sha256Hex as sha256 } from '@zipper/common/node';
import { readFileOrThrow, toHostTensors, toTfTensors } from '../checkpoint/tensors-file.js';
import { removeStaleTemps } from '../checkpoint/stale-temps.js';
import { CheckpointError, ZipperError } from '../errors.js';
import { keySetProblems, shapesOf } from '../model/keys.js';
import type { ScheduleConfig } from './schedule.js';
import type { Trainer } from './trainer.js';
import { parseTrainerState, stateJson } from './trainer-state.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any batch type
type AnyTrainer = Trainer<any>;

export const TRAIN_STATE_FORMAT = 'zipper-train-state';
export const TRAIN_STATE_VERSION = 2;
/** Versions `loadTrainingCheckpoint` reads (1: before trainer.json carried its integrity hash). */
const READABLE_VERSIONS = [1, 2];
const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'trainer.json';
const STEP_DIR = /^step-(\d+)$/;
/** The backup `writeDirAtomic` leaves when a save crashed mid-swap. */
const PREV_DIR = /^\.step-(\d+)\.prev$/;

/** The JSON part of a training checkpoint. */
export interface TrainerState {
  readonly format: typeof TRAIN_STATE_FORMAT;
  readonly formatVersion: number;
  /** Completed optimizer steps. */
  readonly step: number;
  readonly optimizerStep: number;
  /** The batch source's position (`BatchIterator`: seed, epoch, cursor, windows). */
  readonly data: unknown;
  readonly schedule: ScheduleConfig;
  readonly optimizer: {
    readonly beta1: number;
    readonly beta2: number;
    readonly eps: number;
    readonly weightDecay: number;
    readonly decayed: readonly string[];
    /** Learning-rate scales other than 1 (absent when every parameter is at 1). */
    readonly lrScales?: Readonly<Record<string, number>>;
  };
  /** `null` stands for Infinity (no clipping): JSON has no Infinity. */
  readonly maxGradNorm: number | null;
  readonly accumulationSteps: number;
  readonly trainable: readonly string[];
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly bytes: number }>>;
  readonly createdAt: string;
  /** sha256 of this state's other fields as compact JSON (format version 2; trainer-state.ts). */
  readonly integrity?: string;
}

export interface SaveTrainingOptions {
  /** Keep this many newest step directories under the root, delete older ones (default 2; 0 = keep all). */
  readonly keep?: number;
  /** Fault injection for tests (see checkpoint/atomic.ts). */
  readonly hook?: WriteHook;
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** The trainer's state as saved (without file hashes). */
export function trainerState(trainer: AnyTrainer): Omit<TrainerState, 'files' | 'createdAt'> {
  const { schedule, optimizer, maxGradNorm, accumulationSteps } = trainer.config;
  return {
    format: TRAIN_STATE_FORMAT,
    formatVersion: TRAIN_STATE_VERSION,
    step: trainer.step,
    optimizerStep: trainer.optimizer.step,
    data: trainer.data.state,
    schedule: { ...schedule },
    optimizer: {
      beta1: optimizer.beta1,
      beta2: optimizer.beta2,
      eps: optimizer.eps,
      weightDecay: optimizer.weightDecay,
      decayed: [...trainer.optimizer.decayed],
      ...(trainer.optimizer.lrScales.size > 0 ? { lrScales: Object.fromEntries(trainer.optimizer.lrScales) } : {}),
    },
    maxGradNorm: maxGradNorm === Infinity ? null : maxGradNorm,
    accumulationSteps,
    trainable: [...trainer.trainable],
  };
}

/** Save `trainer` under `<root>/step-<step>/`; returns that directory. Call between steps, never during one. */
export async function saveTrainingCheckpoint(root: string, trainer: AnyTrainer, options: SaveTrainingOptions = {}): Promise<string> {
  const keep = options.keep ?? 2;
  if (!Number.isInteger(keep) || keep < 0) throw new CheckpointError(`keep must be an integer >= 0, got ${keep}`);
  const state = trainerState(trainer);
  const model = encodeSafetensors(await toHostTensors(trainer.model.params), { metadata: { format: 'pt' } });
  const optimizer = encodeSafetensors(await toHostTensors(trainer.optimizer.stateTensors()), { metadata: { format: 'pt' } });
  const full: TrainerState = {
    ...state,
    files: {
      [MODEL_FILE]: { sha256: sha256(model), bytes: model.length },
      [OPTIMIZER_FILE]: { sha256: sha256(optimizer), bytes: optimizer.length },
    },
    createdAt: new Date().toISOString(),
  };
  const dir = path.join(path.resolve(root), stepDirName(state.step));
  await removeStaleTemps(path.resolve(root), (name) => STEP_DIR.test(name));
  try {
    await writeDirAtomic(
      dir,
      [
        { name: MODEL_FILE, data: model },
        { name: OPTIMIZER_FILE, data: optimizer },
        { name: STATE_FILE, data: new TextEncoder().encode(stateJson(full)) },
      ],
      options.hook,
    );
  } catch (e) {
    throw await saveFailure(e, dir, root);
  }
  if (keep > 0) {
    const steps = await listSteps(root);
    for (const s of steps.slice(0, Math.max(0, steps.length - keep)))
      await fs.rm(path.join(path.resolve(root), stepDirName(s)), { recursive: true, force: true });
  }
  return dir;
}

/**
 * A device failure of a save (an error with an errno code: ENOSPC, EIO, EDQUOT, ...) as a
 * CheckpointError that says what survived; other errors unchanged. `writeDirAtomic` removes its
 * temp folder and puts a replaced directory back, so every saved step directory is intact.
 */
async function saveFailure(e: unknown, dir: string, root: string): Promise<unknown> {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof ZipperError || typeof code !== 'string') return e;
  const reason = code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : `${(e as Error).message.split('\n')[0]}`;
  const newest = await latestCheckpoint(root);
  const kept = newest ? `the checkpoints saved before are intact (newest: ${newest})` : 'no earlier checkpoint exists under the root';
  return new CheckpointError(
    `cannot save the training checkpoint ${dir}: ${reason}; nothing of it was kept and ${kept}. Free space and save again, or resume from the newest checkpoint`,
    { cause: e },
  );
}

/** The steps saved under `root` (finished step directories, and `.prev` backups of a crashed save), ascending. */
export async function listTrainingCheckpoints(root: string): Promise<number[]> {
  return listSteps(root);
}

async function listSteps(root: string): Promise<number[]> {
  const entries = await fs.readdir(path.resolve(root)).catch(() => [] as string[]);
  const steps = new Set<number>();
  for (const e of entries) {
    const m = STEP_DIR.exec(e) ?? PREV_DIR.exec(e);
    if (m) steps.add(Number(m[1]));
  }
  return [...steps].sort((a, b) => a - b);
}

/** The newest complete step directory under `root` (or its `.prev` backup after a crashed save), or undefined. */
export async function latestCheckpoint(root: string): Promise<string | undefined> {
  const steps = await listSteps(root);
  for (let i = steps.length - 1; i >= 0; i--) {
    const dir = await resolveCheckpointDir(path.join(path.resolve(root), stepDirName(steps[i]!)));
    if (
      dir &&
      (await fs.stat(path.join(dir, STATE_FILE)).then(
        () => true,
        () => false,
      ))
    )
      return dir;
  }
  return undefined;
}

/** Differences between the saved training config and the trainer's (empty = same). */
function configDifferences(saved: TrainerState, current: Omit<TrainerState, 'files' | 'createdAt'>): string[] {
  const out: string[] = [];
  const cmp = (name: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${name}: checkpoint ${JSON.stringify(a)}, trainer ${JSON.stringify(b)}`);
  };
  cmp('schedule', saved.schedule, current.schedule);
  cmp('optimizer', saved.optimizer, current.optimizer);
  cmp('maxGradNorm', saved.maxGradNorm, current.maxGradNorm);
  cmp('accumulationSteps', saved.accumulationSteps, current.accumulationSteps);
  return out;
}

export interface LoadTrainingOptions {
  /** Accept a checkpoint whose schedule / optimizer / clipping / accumulation differ from the trainer's (the curve then differs). */
  readonly allowConfigChange?: boolean;
}

/**
 * Restore weights, optimizer state, data position and step from a step directory, or from the
 * newest one when `dirOrRoot` is a root. Nothing changes if it throws.
 */
export async function loadTrainingCheckpoint(
  dirOrRoot: string,
  trainer: AnyTrainer,
  options: LoadTrainingOptions = {},
): Promise<TrainerState> {
  await removeStaleTemps(path.resolve(dirOrRoot), (name) => STEP_DIR.test(name)); // a root
  await removeStaleTemps(path.dirname(path.resolve(dirOrRoot)), (name) => STEP_DIR.test(name)); // a step directory's root
  let dir = await resolveCheckpointDir(dirOrRoot);
  if (
    dir &&
    !(await fs.stat(path.join(dir, STATE_FILE)).then(
      () => true,
      () => false,
    ))
  )
    dir = await latestCheckpoint(dirOrRoot);
  if (!dir)
    throw new CheckpointError(
      `no training checkpoint at ${path.resolve(dirOrRoot)}; save one with saveTrainingCheckpoint (or Trainer checkpoint options) first`,
    );
  const stateFile = path.join(dir, STATE_FILE);
  const state = parseTrainerState(
    (await readFileOrThrow(stateFile, 'trainer state')).toString('utf8'),
    stateFile,
    TRAIN_STATE_FORMAT,
    READABLE_VERSIONS,
  );
  const current = trainerState(trainer);
  if (JSON.stringify(state.trainable) !== JSON.stringify(current.trainable)) {
    throw new CheckpointError(
      `${stateFile}: trained keys differ from this trainer's (${state.trainable.length} vs ${current.trainable.length}); resume with the same trainable / freezePrefixes selection`,
    );
  }
  const diffs = configDifferences(state, current);
  if (diffs.length > 0 && !options.allowConfigChange) {
    throw new CheckpointError(
      `${stateFile}: training config differs (${diffs.join('; ')}); build the Trainer with the saved config, or pass allowConfigChange`,
    );
  }
  const read = async (name: string) => {
    const file = path.join(dir!, name);
    const buf = await readFileOrThrow(file, 'checkpoint tensors');
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const want = state.files?.[name]?.sha256;
    if (sha256(bytes) !== want)
      throw new CheckpointError(
        `${file}: sha256 does not match trainer.json; the file was modified or corrupted, use an older step directory`,
      );
    const tensors = decodeSafetensors(bytes, file).tensors;
    for (const [key, t] of tensors) {
      if (t.stored !== 'F32')
        throw new CheckpointError(
          `${file}: "${key}" is stored as ${t.stored}; training checkpoints hold float32 (F32) tensors only, the file was modified or corrupted, use an older step directory`,
        );
    }
    return tensors;
  };
  const modelHost = await read(MODEL_FILE);
  const optHost = await read(OPTIMIZER_FILE);
  const params = trainer.model.params;
  const problems = keySetProblems(shapesOf(params), shapesOf(modelHost));
  if (problems.length > 0)
    throw new CheckpointError(
      `${path.join(dir, MODEL_FILE)} does not match the model: ${problems.join('; ')}; resume with the model the checkpoint was saved from`,
    );
  const dataBefore = trainer.data.state;
  trainer.data.restore(state.data); // validates
  const optTensors = toTfTensors(optHost);
  const modelTensors = toTfTensors(modelHost);
  try {
    trainer.optimizer.loadState(optTensors, state.optimizerStep); // validates, then assigns
    tf.tidy(() => {
      for (const [k, p] of params) p.assign(modelTensors.get(k)!);
    });
    trainer.setStep(state.step);
  } catch (e) {
    trainer.data.restore(dataBefore);
    throw e;
  } finally {
    for (const t of [...optTensors.values(), ...modelTensors.values()]) t.dispose();
  }
  return state;
}
