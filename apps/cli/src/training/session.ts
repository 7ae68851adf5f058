/**
 * A resumable training session over core's Trainer, checkpoints and data-parallel workers: the
 * loop shared by commands that train a tower on a batch source (`zipper pretrain`).
 *
 * Per completed step, in this order: the training loss goes to `loss.jsonl`; every `evalEvery`
 * steps the held-out loss too; every `every` steps (and at the last step) core's atomic training
 * checkpoint under `train/step-N/`, then the loss plot `loss.svg`. A kill at any moment loses at
 * most the steps after the newest checkpoint: `resume` reloads it (weights, AdamW state, data
 * position, step) and truncates the log to its step, so the resumed run writes the same log,
 * checkpoints and final weights as an uninterrupted one (for a given worker count; the losses
 * of 0 and 1 workers differ only in float summation order).
 */
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import {
  DataParallelGradients,
  evaluateLoss,
  latestCheckpoint,
  Trainer,
  type Batch,
  type BatchIterator,
  type Tower,
  type TrainerOptions,
} from '@zipper/core';
import { duration, isHeldOut, LossLog, TrainBar, writeLossSvg } from '../progress/index.js';

export interface SessionConfig {
  /** Run directory: train/, loss.jsonl, loss.svg, sessions.jsonl. */
  readonly out: string;
  readonly tower: Tower;
  readonly data: BatchIterator;
  /** Held-out batches (each window once); their loss is logged every `evalEvery` steps and at step 0. */
  readonly heldOut: readonly Batch[];
  readonly trainer: Pick<TrainerOptions, 'schedule' | 'optimizer' | 'maxGradNorm' | 'accumulationSteps'>;
  readonly totalSteps: number;
  /** Checkpoint every this many steps (and at the last step). */
  readonly every: number;
  /** Newest checkpoints kept (0 = all). */
  readonly keep: number;
  readonly evalEvery: number;
  /** Data-parallel worker threads (0 = in-process). */
  readonly workers: number;
  /** Continue from the newest checkpoint under out/train (a fresh start if there is none). */
  readonly resume: boolean;
  /** Stop after this many seconds of this invocation (with a checkpoint), to train in chunks. */
  readonly maxSeconds?: number;
  /** Title of the loss plot. */
  readonly title: string;
  readonly progress: boolean;
  /** Where status lines go (default stderr). */
  readonly log?: (line: string) => void;
}

export interface SessionResult {
  /** Completed steps of the run (not only of this invocation). */
  readonly step: number;
  readonly finished: boolean;
  readonly tokensPerStep: number;
  readonly lastLoss: number;
  readonly lastHeldOut: number | undefined;
  /** This invocation: steps run, wall seconds, training tokens per second (over the whole loop: evals and checkpoints included). */
  readonly sessionSteps: number;
  readonly sessionSeconds: number;
  readonly tokensPerSecond: number;
}

export const TRAIN_DIR = 'train';
export const LOSS_LOG = 'loss.jsonl';
export const LOSS_PLOT = 'loss.svg';
export const SESSIONS_LOG = 'sessions.jsonl';

export async function runSession(c: SessionConfig): Promise<SessionResult> {
  const log = c.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const trainDir = path.join(c.out, TRAIN_DIR);
  const losses = new LossLog(path.join(c.out, LOSS_LOG));
  const plot = () => writeLossSvg(path.join(c.out, LOSS_PLOT), losses.read(), { title: c.title });
  const parallel = c.workers > 0 ? new DataParallelGradients(c.tower, { workers: c.workers }) : undefined;
  if (parallel?.config.note) log(`--workers: ${parallel.config.note}`);
  let trainer: Trainer;
  try {
    trainer = new Trainer(c.tower, c.data, { ...c.trainer, ...(parallel ? { strategy: parallel } : {}) });
  } catch (e) {
    parallel?.dispose();
    throw e;
  }
  const tokensPerStep = (c.trainer.accumulationSteps ?? 1) * c.data.config.batchSize * c.data.config.seqLen;
  const heldOutLoss = () => evaluateLoss(c.tower, c.heldOut).loss;
  let lastLoss = NaN;
  let lastHeldOut: number | undefined;
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  try {
    const last = c.resume ? await latestCheckpoint(trainDir) : undefined;
    if (last) {
      await trainer.resume(last);
      const kept = losses.truncateTo(trainer.step);
      lastHeldOut = kept.filter(isHeldOut).pop()?.heldOut;
      log(`resumed from ${last} (step ${trainer.step} of ${c.totalSteps})`);
    } else {
      losses.truncateTo(-1); // a fresh run, or a resume before the first checkpoint
      if (c.heldOut.length > 0) {
        lastHeldOut = heldOutLoss();
        losses.append({ step: 0, tokens: 0, heldOut: lastHeldOut });
      }
    }
    const startStep = trainer.step;
    const bar = new TrainBar({ totalSteps: c.totalSteps, startStep, enabled: c.progress });
    if (lastHeldOut !== undefined) bar.setHeldOut(lastHeldOut);
    let saved = trainer.step;
    const save = async () => {
      await trainer.save(trainDir, { keep: c.keep });
      saved = trainer.step;
      plot();
    };
    while (trainer.step < c.totalSteps) {
      if (c.maxSeconds !== undefined && (performance.now() - t0) / 1000 >= c.maxSeconds) break;
      const p = await trainer.trainStep();
      lastLoss = p.loss;
      losses.append({ step: p.step, tokens: p.step * tokensPerStep, loss: p.loss });
      if (c.heldOut.length > 0 && (p.step % c.evalEvery === 0 || p.step === c.totalSteps)) {
        lastHeldOut = heldOutLoss();
        losses.append({ step: p.step, tokens: p.step * tokensPerStep, heldOut: lastHeldOut });
        bar.setHeldOut(lastHeldOut);
      }
      bar.update(p.step, p.loss, p.tokens);
      if (p.step % c.every === 0 || p.step === c.totalSteps) await save();
    }
    if (saved !== trainer.step) await save(); // stopped by --minutes between checkpoints
    const sessionSeconds = (performance.now() - t0) / 1000;
    const sessionSteps = trainer.step - startStep;
    const tokensPerSecond = sessionSeconds > 0 ? (sessionSteps * tokensPerStep) / sessionSeconds : 0;
    appendFileSync(
      path.join(c.out, SESSIONS_LOG),
      `${JSON.stringify({ startedAt, endedAt: new Date().toISOString(), fromStep: startStep, toStep: trainer.step, seconds: +sessionSeconds.toFixed(1), tokensPerSecond: Math.round(tokensPerSecond), workers: parallel?.config.workers ?? 0 })}\n`,
    );
    if (trainer.step < c.totalSteps) log(`stopped after ${duration(sessionSeconds)} at step ${trainer.step} of ${c.totalSteps} (checkpoint saved); continue with --resume`);
    return { step: trainer.step, finished: trainer.step >= c.totalSteps, tokensPerStep, lastLoss, lastHeldOut, sessionSteps, sessionSeconds, tokensPerSecond };
  } finally {
    trainer.dispose();
  }
}
