/**
 * A resumable training session over core's Trainer, checkpoints and data-parallel workers: the
 * loop shared by the commands that train (`zipper pretrain`: a tower on windows of documents;
 * `zipper fuse train` / `zipper baseline train`: a zipped model or the single decoder on task
 * mixtures, with one loss stream per tower, logged and plotted per stream).
 *
 * Per completed step, in this order: the training loss goes to `loss.jsonl`; every `evalEvery`
 * steps the held-out loss too; every `every` steps (and at the last step) core's atomic training
 * checkpoint under `train/step-N/`, then the loss plot `loss.svg`. A kill at any moment loses at
 * most the steps after the newest checkpoint: `resume` reloads it (weights, AdamW state, data
 * position, step) and truncates the log to its step, so the resumed run writes the same log,
 * checkpoints and final weights as an uninterrupted one (for a given worker count; the losses
 * of 0 and 1 workers differ only in float summation order). `tokens` in the log is the running
 * sum of the steps' input tokens (core's `StepProgress.tokens`), restored from the log on resume.
 *
 * Keep-best (`best`): after every held-out evaluation past step 0 whose score (the total or one
 * stream) is below every earlier one, OUT/best/ is replaced (atomically, as a whole) by the run
 * as of that step: `loss.jsonl`, `sessions.jsonl` (this session's line as of the step), `loss.svg`
 * and what `best.save` writes (the model, the run file), before that step's checkpoint. So
 * OUT/best/ reads like a run stopped there. A resume takes the best so far from the kept log and
 * redoes the steps after its checkpoint exactly, evaluations and saves included.
 *
 * Wall time: a session that ends (finished, --minutes, --until-step) appends its line to
 * `sessions.jsonl`. At every checkpoint it also writes `session.json` (atomically): its line as of
 * that checkpoint, `"ended": "killed"`. A session killed later leaves that file behind, and the
 * next `resume` moves it into `sessions.jsonl`, so a killed session's time counts up to its last
 * checkpoint (the steps it ran after that are run again, and counted, by the resumed session).
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  latestCheckpoint,
  Trainer,
  type Batch,
  type BatchSource,
  type DataParallelGradients,
  type Evaluation,
  type GradientStrategy,
  type TrainableParams,
  type TrainerOptions,
} from '@zipper/core';
import { replaceDirAtomic, writeFileAtomicSync } from '@zipper/common/node';
import { duration, isHeldOut, LossLog, TrainBar, writeLossSvg, type StreamLosses } from '../progress/index.js';

export interface SessionConfig<B = Batch> {
  /** Run directory: train/, loss.jsonl, loss.svg, sessions.jsonl. */
  readonly out: string;
  /** What trains: a Tower, a zipped model, the single decoder (its `params` are checkpointed). */
  readonly model: TrainableParams;
  readonly data: BatchSource<B>;
  /** The held-out loss (logged every `evalEvery` steps and at step 0); undefined = none. */
  readonly heldOut?: () => Evaluation;
  /** The in-process gradient strategy (default: the Trainer's, a Tower's next-token loss). */
  readonly local?: GradientStrategy<B>;
  /** A data-parallel strategy with `workers` workers (required when workers > 0; a Tower: `(n) => new DataParallelGradients(tower, { workers: n })`). */
  readonly parallel?: (workers: number) => DataParallelGradients<B>;
  /** Log, show and plot every stream's loss (a model with several output streams). */
  readonly streams?: boolean;
  readonly trainer: Pick<
    TrainerOptions<B>,
    'schedule' | 'optimizer' | 'maxGradNorm' | 'accumulationSteps' | 'freezePrefixes' | 'trainable'
  >;
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
  /** Stop (with a checkpoint) after the first step that ends past this many seconds of this invocation, to train in chunks; every invocation makes at least one step. */
  readonly maxSeconds?: number;
  /** Stop at this step (with a held-out evaluation and a checkpoint there), before `totalSteps`, without changing the schedule: a release taken part-way through a run, reproducible by the same command with the same stop. */
  readonly untilStep?: number;
  /** Title of the loss plot. */
  readonly title: string;
  readonly progress: boolean;
  /** Where status lines go (default stderr). */
  readonly log?: (line: string) => void;
  /** After every checkpoint (e.g. also write the model in its release format). */
  readonly onCheckpoint?: (step: number) => Promise<void>;
  /** Keep the model of the best held-out evaluation (needs `heldOut`). */
  readonly best?: KeepBest;
}

/** The total held-out loss, as `KeepBest.by`. */
export const TOTAL = 'total';
/** OUT/best/: the run as of its best held-out evaluation (`best`). */
export const BEST_DIR = 'best';

export interface KeepBest {
  /** What is minimized: `total` (the held-out loss) or one stream's held-out loss (`streams` sessions). */
  readonly by: string;
  /** Writes the model (and the run's own files) of a new best into `dir`, the new OUT/best/ before it is swapped in. */
  readonly save: (best: BestEvaluation, dir: string) => Promise<void>;
}

/** A held-out evaluation chosen by `KeepBest.by`. */
export interface BestEvaluation {
  readonly step: number;
  readonly by: string;
  /** The minimized loss (nats per target). */
  readonly value: number;
  readonly heldOut: number;
  readonly streams?: StreamLosses;
}

/** The command that reproduces a run's weights as of `step`: its own, stopped there (`--until-step` keeps the schedule). */
export function untilStepCommand(command: string, step: number): string {
  return `${command} --until-step ${step}`;
}

/** The run file of OUT/best/: the run's, with its best evaluation and the command that reproduces those weights. */
export function bestRunFile<R extends { readonly command: string }>(run: R, best: BestEvaluation): R & { readonly best: BestEvaluation } {
  return { ...run, command: untilStepCommand(run.command, best.step), best };
}

/** The score of a held-out evaluation by `by`; a stream it lacks is a ConfigError naming those it has. */
export function bestScore(by: string, heldOut: number, streams: StreamLosses | undefined): number {
  if (by === TOTAL) return heldOut;
  const v = streams?.[by];
  if (v === undefined)
    throw new ConfigError(
      `keep-best: the held-out evaluation has no stream "${by}"; choose ${[TOTAL, ...Object.keys(streams ?? {})].join(', ')}`,
    );
  return v;
}

export interface SessionResult {
  /** Completed steps of the run (not only of this invocation). */
  readonly step: number;
  readonly finished: boolean;
  /** Training input tokens seen by the run (all its steps). */
  readonly tokens: number;
  readonly lastLoss: number;
  readonly lastHeldOut: number | undefined;
  /** Per stream (`streams` sessions): the last step's and the last held-out evaluation's losses. */
  readonly lastStreams: StreamLosses | undefined;
  readonly lastHeldOutStreams: StreamLosses | undefined;
  /** With `best`: the best evaluation of the run so far (undefined before the first past step 0). */
  readonly best: BestEvaluation | undefined;
  /** This invocation: steps run, wall seconds, training tokens per second (over the whole loop: evals and checkpoints included). */
  readonly sessionSteps: number;
  readonly sessionSeconds: number;
  readonly tokensPerSecond: number;
}

export const TRAIN_DIR = 'train';
export const LOSS_LOG = 'loss.jsonl';
export const LOSS_PLOT = 'loss.svg';
export const SESSIONS_LOG = 'sessions.jsonl';
/** The running session's line as of its last checkpoint (`"ended": "killed"`), until it ends. */
export const CURRENT_SESSION = 'session.json';

/** One line of `sessions.jsonl`. */
export interface SessionRecord {
  readonly startedAt: string;
  /** When it ended; for a killed session, when it saved its last checkpoint. */
  readonly endedAt: string;
  readonly fromStep: number;
  readonly toStep: number;
  readonly seconds: number;
  readonly tokensPerSecond: number;
  readonly workers: number;
  /** 'killed': recovered from `session.json` by the next resume, counted to its last checkpoint. */
  readonly ended?: 'killed';
}

/**
 * A session killed after a checkpoint left `session.json`: its record goes to `sessions.jsonl`
 * (unless it is there already: killed between the two writes of a normal end). Returns it.
 */
function recoverKilledSession(out: string): SessionRecord | undefined {
  const file = path.join(out, CURRENT_SESSION);
  if (!existsSync(file)) return undefined;
  let record: SessionRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as SessionRecord;
  } catch {
    rmSync(file, { force: true }); // written atomically, so only a foreign file gets here
    return undefined;
  }
  const log = path.join(out, SESSIONS_LOG);
  const known = existsSync(log) && readFileSync(log, 'utf8').includes(`"startedAt":${JSON.stringify(record.startedAt)}`);
  if (!known) appendFileSync(log, `${JSON.stringify(record)}\n`);
  rmSync(file, { force: true });
  return known ? undefined : record;
}

/** Per-stream losses rounded for the log (as a step reports them, without target counts). */
function streamLosses(streams: Readonly<Record<string, { readonly loss: number }>>): StreamLosses {
  return Object.fromEntries(Object.entries(streams).map(([k, v]) => [k, v.loss]));
}

export async function runSession<B = Batch>(c: SessionConfig<B>): Promise<SessionResult> {
  const log = c.log ?? ((s: string) => void process.stderr.write(`${s}\n`));
  const trainDir = path.join(c.out, TRAIN_DIR);
  const losses = new LossLog(path.join(c.out, LOSS_LOG));
  const plot = () => writeLossSvg(path.join(c.out, LOSS_PLOT), losses.read(), { title: c.title });
  if (c.best && !c.heldOut) throw new ConfigError('runSession: `best` needs `heldOut`, the evaluation it chooses by');
  if (c.workers > 0 && !c.parallel)
    throw new ConfigError('runSession: workers > 0 needs `parallel`, a data-parallel strategy factory for this model');
  const parallel = c.workers > 0 ? c.parallel!(c.workers) : undefined;
  if (parallel?.config.note) log(`--workers: ${parallel.config.note}`);
  const strategy = parallel ?? c.local;
  let trainer: Trainer<B>;
  try {
    trainer = new Trainer<B>(c.model, c.data, { ...c.trainer, ...(strategy ? { strategy } : {}) });
  } catch (e) {
    parallel?.dispose();
    throw e;
  }
  return loop(trainer, parallel?.config.workers ?? 0);

  async function loop(trainer: Trainer<B>, workers: number): Promise<SessionResult> {
    const heldOut = c.heldOut;
    let lastLoss = NaN;
    let lastHeldOut: number | undefined;
    let lastStreams: StreamLosses | undefined;
    let lastHeldOutStreams: StreamLosses | undefined;
    let tokens = 0;
    let best: BestEvaluation | undefined;
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    let startStep = 0; // set once the checkpoint (if any) is loaded
    let tokensBefore = 0;
    const elapsed = () => (performance.now() - t0) / 1000;
    const rate = (seconds: number) => (seconds > 0 ? (tokens - tokensBefore) / seconds : 0);
    /** This session's line after `seconds`. */
    const record = (seconds: number, ended?: 'killed'): SessionRecord => ({
      startedAt,
      endedAt: new Date().toISOString(),
      fromStep: startStep,
      toStep: trainer.step,
      seconds: +seconds.toFixed(1),
      tokensPerSecond: Math.round(rate(seconds)),
      workers,
      ...(ended ? { ended } : {}),
    });
    /** The step's evaluation beats every earlier one past step 0 (by `c.best.by`): the new best. */
    const better = (step: number, heldOut: number, streams: StreamLosses | undefined): BestEvaluation | undefined => {
      if (!c.best) return undefined;
      const value = bestScore(c.best.by, heldOut, streams); // also checks `by` at step 0
      if (step === 0 || (best && value >= best.value)) return undefined;
      return { step, by: c.best.by, value, heldOut, ...(streams ? { streams } : {}) };
    };
    /** Replaces OUT/best/ by the run as of now (the step of `b`): its log, sessions, plot, and the model. */
    const saveBest = (b: BestEvaluation) =>
      replaceDirAtomic(path.join(c.out, BEST_DIR), async (dir) => {
        writeFileAtomicSync(path.join(dir, LOSS_LOG), readFileSync(path.join(c.out, LOSS_LOG)));
        const ended = existsSync(path.join(c.out, SESSIONS_LOG)) ? readFileSync(path.join(c.out, SESSIONS_LOG), 'utf8') : '';
        writeFileAtomicSync(path.join(dir, SESSIONS_LOG), `${ended}${JSON.stringify(record(elapsed()))}\n`);
        writeLossSvg(path.join(dir, LOSS_PLOT), losses.read(), { title: c.title });
        await c.best!.save(b, dir);
      });
    const evaluate = async (step: number) => {
      const e = heldOut!();
      lastHeldOut = e.loss;
      lastHeldOutStreams = c.streams ? streamLosses(e.streams) : undefined;
      losses.append({ step, tokens, heldOut: e.loss, ...(lastHeldOutStreams ? { streams: lastHeldOutStreams } : {}) });
      const b = better(step, e.loss, lastHeldOutStreams);
      if (b) {
        await saveBest(b);
        best = b;
      }
    };
    try {
      const killed = recoverKilledSession(c.out);
      if (killed)
        log(
          `a session killed after step ${killed.toStep} is recorded in ${SESSIONS_LOG} (steps ${killed.fromStep}-${killed.toStep}, ${duration(killed.seconds)} to its last checkpoint)`,
        );
      const last = c.resume ? await latestCheckpoint(trainDir) : undefined;
      if (last) {
        await trainer.resume(last);
        const kept = losses.truncateTo(trainer.step);
        const held = kept.filter(isHeldOut).pop();
        lastHeldOut = held?.heldOut;
        lastHeldOutStreams = held?.streams;
        for (const p of kept.filter(isHeldOut)) best = better(p.step, p.heldOut, p.streams) ?? best;
        tokens = kept.filter((p) => !isHeldOut(p)).pop()?.tokens ?? 0;
        log(`resumed from ${last} (step ${trainer.step} of ${c.totalSteps})`);
        if (c.untilStep !== undefined && trainer.step > c.untilStep)
          throw new ConfigError(
            `the newest checkpoint (${last}) is at step ${trainer.step}, past the requested stop at step ${c.untilStep}; a run cannot go back: restart it from scratch with the stop, or stop at a later step`,
          );
      } else {
        losses.truncateTo(-1); // a fresh run, or a resume before the first checkpoint
        if (heldOut) await evaluate(0);
      }
      startStep = trainer.step;
      tokensBefore = tokens;
      const bar = new TrainBar({ totalSteps: c.totalSteps, startStep, enabled: c.progress });
      if (lastHeldOut !== undefined) bar.setHeldOut(lastHeldOut, lastHeldOutStreams);
      let saved = trainer.step;
      const save = async () => {
        await trainer.save(trainDir, { keep: c.keep });
        saved = trainer.step;
        writeFileAtomicSync(path.join(c.out, CURRENT_SESSION), `${JSON.stringify(record(elapsed(), 'killed'))}\n`, { fsync: false });
        plot();
        await c.onCheckpoint?.(trainer.step);
      };
      const stop = Math.min(c.totalSteps, c.untilStep ?? c.totalSteps);
      while (trainer.step < stop) {
        const p = await trainer.trainStep();
        lastLoss = p.loss;
        tokens += p.tokens;
        lastStreams = c.streams ? { ...lastStreams, ...streamLosses(p.streams) } : undefined;
        losses.append({ step: p.step, tokens, loss: p.loss, ...(c.streams ? { streams: streamLosses(p.streams) } : {}) });
        if (heldOut && (p.step % c.evalEvery === 0 || p.step === stop)) {
          await evaluate(p.step);
          bar.setHeldOut(lastHeldOut!, lastHeldOutStreams);
        }
        bar.update(p.step, p.loss, p.tokens, lastStreams);
        if (p.step % c.every === 0 || p.step === stop) await save();
        // Checked after a step, so every session makes progress (at least one step).
        if (c.maxSeconds !== undefined && elapsed() >= c.maxSeconds) break;
      }
      if (saved !== trainer.step) await save(); // stopped by --minutes between checkpoints
      const sessionSeconds = elapsed();
      const sessionSteps = trainer.step - startStep;
      const tokensPerSecond = rate(sessionSeconds);
      // a session that trained nothing (--resume of a finished run, e.g. to rename its package) is no training session
      if (sessionSteps > 0) appendFileSync(path.join(c.out, SESSIONS_LOG), `${JSON.stringify(record(sessionSeconds))}\n`);
      rmSync(path.join(c.out, CURRENT_SESSION), { force: true });
      if (trainer.step < stop)
        log(
          `stopped after ${duration(sessionSeconds)} at step ${trainer.step} of ${c.totalSteps} (checkpoint saved); continue with --resume`,
        );
      return {
        step: trainer.step,
        finished: trainer.step >= c.totalSteps,
        tokens,
        lastLoss,
        lastHeldOut,
        lastStreams,
        lastHeldOutStreams,
        best,
        sessionSteps,
        sessionSeconds,
        tokensPerSecond,
      };
    } finally {
      trainer.dispose();
    }
  }
}
