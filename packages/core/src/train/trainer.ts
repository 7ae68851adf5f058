/**
 * The training loop: one optimizer step = k micro-batches -> summed gradients -> global-norm
 * clipping -> AdamW at the scheduled learning rate.
 *
 * Legend: B batch, T time, k micro-batches per step (gradient accumulation).
 *
 * Guarantees:
 * - Nothing changes on failure: gradients of all micro-batches are computed first, the update is
 *   applied only afterwards (AdamW computes every new value before assigning any); a throw
 *   (including `TrainingError` for a NaN/Inf loss or gradient norm) leaves parameters,
 *   optimizer state, step counter and data position as they were before the step.
 * - No tensor growth: after construction, `tf.memory().numTensors` is the same after every step.
 * - Determinism: on cpu/wasm the same model init, data seed and config give bit-identical losses;
 *   checkpoint + resume (see checkpoint.ts) continues the exact same loss curve.
 * - Checkpoints: `checkpoint: { dir, every }` saves every N steps; `resume(dir)` restores.
 * Steps are numbered from 1: `trainer.step` is the number of completed steps and step `s` uses
 * `learningRateAt(schedule, s - 1)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, TokenRangeError } from '../errors.js';
import { AdamW, resolveAdamWConfig, type AdamWConfig } from './adamw.js';
import {
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  type LoadTrainingOptions,
  type SaveTrainingOptions,
  type TrainerState,
} from './checkpoint.js';
import { clipCoefficient, globalNormValue } from './clip.js';
import type { Batch, BatchSource } from './data.js';
import { TrainingError } from './errors.js';
import { accumulateGradients, tokensOf, type AccumulatedGradients, type GradientStrategy } from './gradients.js';
import { InProcessGradients } from './loss-gradients.js';
import { selectTrainable, type ParamSelection, type TrainableModel, type TrainableParams } from './model.js';
import { learningRateAt, resolveScheduleConfig, type ScheduleConfig } from './schedule.js';
import { totalCount } from './streams.js';

export interface TrainerConfig {
  readonly schedule: ScheduleConfig;
  readonly optimizer: AdamWConfig;
  /** Clip the global gradient norm to this (default 1.0; Infinity = no clipping). */
  readonly maxGradNorm: number;
  /** Micro-batches per optimizer step (default 1). */
  readonly accumulationSteps: number;
}

export interface TrainerOptions<B = Batch> extends ParamSelection {
  readonly schedule?: Partial<ScheduleConfig>;
  readonly optimizer?: Partial<AdamWConfig>;
  readonly maxGradNorm?: number;
  readonly accumulationSteps?: number;
  /** How gradients are computed (default: `InProcessGradients(model)`, which needs `model.forward` and `Batch`es). */
  readonly strategy?: GradientStrategy<B>;
  /** Called after every completed step. */
  readonly onStep?: (progress: StepProgress) => void;
  /** `train()` saves a training checkpoint under `dir` every `every` steps (see checkpoint.ts). */
  readonly checkpoint?: CheckpointSchedule;
}

export interface CheckpointSchedule {
  readonly dir: string;
  /** Save after every `every`-th completed step (step % every === 0). */
  readonly every: number;
  /** Newest step directories to keep (default 2; 0 = all). */
  readonly keep?: number;
  /** Called with the directory after each save. */
  readonly onSave?: (dir: string, step: number) => void;
}

export interface StepProgress {
  /** Number of completed steps, this one included (1-based). */
  readonly step: number;
  /**
   * The step's loss (before the update): sum over streams of weight * the stream's mean masked
   * next-token cross-entropy; one stream of weight 1 (the default strategy): its mean.
   */
  readonly loss: number;
  /** Per stream with targets in this step: its mean masked NLL (unweighted) and its target count. */
  readonly streams: Readonly<Record<string, StreamProgress>>;
  /** Learning rate used by this step. */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Input tokens processed in this step (k * B * T for `Batch`). */
  readonly tokens: number;
  /** Targets counted by the loss masks in this step (all streams). */
  readonly targets: number;
  readonly tokensPerSecond: number;
  readonly milliseconds: number;
}

export interface StreamProgress {
  readonly loss: number;
  readonly targets: number;
}

export function resolveTrainerConfig(options: TrainerOptions<unknown> = {}): TrainerConfig {
  const maxGradNorm = options.maxGradNorm ?? 1.0;
  const accumulationSteps = options.accumulationSteps ?? 1;
  if (!(maxGradNorm > 0)) throw new ConfigError(`maxGradNorm must be > 0 (Infinity disables clipping), got ${maxGradNorm}`);
  if (!Number.isInteger(accumulationSteps) || accumulationSteps < 1)
    throw new ConfigError(`accumulationSteps must be an integer >= 1, got ${accumulationSteps}`);
  const schedule = resolveScheduleConfig(options.schedule);
  const optimizer = resolveAdamWConfig(options.optimizer);
  return { schedule, optimizer, maxGradNorm, accumulationSteps };
}

export class Trainer<B = Batch> {
  readonly model: TrainableParams;
  readonly data: BatchSource<B>;
  readonly config: TrainerConfig;
  /** Keys of the trained parameters, in model order; all others stay frozen. */
  readonly trainable: readonly string[];
  readonly optimizer: AdamW;
  private readonly strategy: GradientStrategy<B>;
  private readonly onStep: ((p: StepProgress) => void) | undefined;
  private readonly checkpoint: CheckpointSchedule | undefined;
  private completed = 0;
  private running = false;

  constructor(model: TrainableParams | TrainableModel, data: BatchSource<B>, options: TrainerOptions<B> = {}) {
    this.model = model;
    this.data = data;
    this.config = resolveTrainerConfig(options as TrainerOptions<unknown>);
    if (!options.strategy && typeof (model as TrainableModel).forward !== 'function') {
      throw new ConfigError('the model has no forward(ids); pass a GradientStrategy that computes its loss (options.strategy)');
    }
    this.trainable = selectTrainable(model.params, options);
    this.optimizer = new AdamW(model.params, this.trainable, this.config.optimizer);
    this.strategy = options.strategy ?? (new InProcessGradients(model as TrainableModel) as unknown as GradientStrategy<B>);
    this.onStep = options.onStep;
    if (options.checkpoint) {
      const { every, dir } = options.checkpoint;
      if (!Number.isInteger(every) || every < 1) throw new ConfigError(`checkpoint.every must be an integer >= 1, got ${every}`);
      if (typeof dir !== 'string' || dir === '') throw new ConfigError('checkpoint.dir must be a directory path');
    }
    this.checkpoint = options.checkpoint;
  }

  /** Completed optimizer steps. */
  get step(): number {
    return this.completed;
  }

  /** Learning rate the next step will use. */
  get nextLr(): number {
    return learningRateAt(this.config.schedule, this.completed);
  }

  /** One optimizer step. On a throw nothing has changed (see the file header). */
  async trainStep(): Promise<StepProgress> {
    if (this.running) throw new ConfigError('trainStep() is already running on this Trainer; await each step before starting the next');
    this.running = true;
    try {
      return await this.runStep();
    } finally {
      this.running = false;
    }
  }

  private async runStep(): Promise<StepProgress> {
    const stepNo = this.completed + 1;
    const dataBefore = this.data.state;
    const t0 = performance.now();
    const lr = learningRateAt(this.config.schedule, stepNo - 1);
    let result: AccumulatedGradients | undefined;
    let loss = NaN;
    let gradNorm = NaN;
    let tokens = 0;
    try {
      const batches = Array.from({ length: this.config.accumulationSteps }, () => this.data.next());
      for (const b of batches) tokens += tokensOf(this.strategy, b);
      result = await accumulateGradients(this.strategy, batches, this.trainable);
      const r = result;
      tf.tidy(() => {
        loss = r.loss.dataSync()[0]!;
        if (!Number.isFinite(loss)) {
          throw new TrainingError(
            `step ${stepNo}: loss is ${loss}; nothing was updated. Lower the learning rate (now ${lr}) or check the data and the model's init`,
            stepNo,
          );
        }
        gradNorm = globalNormValue(r.grads);
        if (!Number.isFinite(gradNorm)) {
          throw new TrainingError(
            `step ${stepNo}: gradient norm is ${gradNorm} (loss ${loss}); nothing was updated. Lower the learning rate (now ${lr})`,
            stepNo,
          );
        }
        this.optimizer.apply(r.grads, lr, clipCoefficient(gradNorm, this.config.maxGradNorm)); // clipping folded into the update
      });
    } catch (e) {
      this.data.restore(dataBefore);
      // Usage and data errors keep their class; anything else (a failing strategy or worker) becomes a TrainingError with its cause.
      if (e instanceof TrainingError || e instanceof ConfigError || e instanceof ShapeError || e instanceof TokenRangeError) throw e;
      const err = new TrainingError(
        `step ${stepNo} failed: ${(e as Error)?.message ?? String(e)}; parameters, optimizer state and data position are unchanged`,
        stepNo,
      );
      (err as { cause?: unknown }).cause = e;
      throw err;
    } finally {
      if (result) {
        result.loss.dispose();
        for (const g of result.grads.values()) g.dispose();
      }
    }
    this.completed = stepNo;
    const milliseconds = performance.now() - t0;
    const { streams: shares, targets: counts } = result!;
    const streams = Object.fromEntries(Object.entries(shares).map(([s, l]) => [s, { loss: l, targets: counts[s] ?? 0 }]));
    const targets = totalCount(counts);
    const progress: StepProgress = {
      step: stepNo,
      loss,
      lr,
      gradNorm,
      streams,
      tokens,
      targets,
      tokensPerSecond: tokens / (milliseconds / 1000),
      milliseconds,
    };
    this.onStep?.(progress);
    return progress;
  }

  /** `steps` optimizer steps (checkpointing on schedule); returns their progress records. */
  async train(steps: number): Promise<StepProgress[]> {
    if (!Number.isInteger(steps) || steps < 0) throw new ConfigError(`steps must be an integer >= 0, got ${steps}`);
    const out: StepProgress[] = [];
    for (let i = 0; i < steps; i++) {
      out.push(await this.trainStep());
      const c = this.checkpoint;
      if (c && this.completed % c.every === 0) {
        const dir = await saveTrainingCheckpoint(c.dir, this, c.keep === undefined ? {} : { keep: c.keep });
        c.onSave?.(dir, this.completed);
      }
    }
    return out;
  }

  /** Save a training checkpoint now under `<root>/step-<step>/`; returns the directory. */
  save(root: string, options: SaveTrainingOptions = {}): Promise<string> {
    return saveTrainingCheckpoint(root, this, options);
  }

  /** Continue from a step directory, or the newest under a root (see checkpoint.ts). Nothing changes if it throws. */
  resume(dirOrRoot: string, options: LoadTrainingOptions = {}): Promise<TrainerState> {
    return loadTrainingCheckpoint(dirOrRoot, this, options);
  }

  /** Restore the step counter (used by checkpoint resume). */
  setStep(step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new ConfigError(`step must be an integer >= 0, got ${step}`);
    this.completed = step;
  }

  /** Frees the optimizer state and the strategy (not the model). */
  dispose(): void {
    this.optimizer.dispose();
    this.strategy.dispose?.();
  }
}
