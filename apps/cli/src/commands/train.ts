/**
 * `zipper train`: train (or fine-tune) a decoder tower on token ids, with checkpoints and
 * exact resume. Modality-agnostic: the ids may be BPE text ids (`zipper bpe encode`) or speech
 * units.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  BatchIterator,
  CheckpointError,
  ConfigError,
  DataParallelGradients,
  defaultDataParallelWorkers,
  initBackend,
  latestCheckpoint,
  listTrainingCheckpoints,
  loadTower,
  readTowerCheckpointInfo,
  resolveTowerConfig,
  saveTower,
  stepDirName,
  Tower,
  Trainer,
  type StepProgress,
} from '@zipper/core';
import { parse, readInputFile, writeOutputFile } from '../args.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { checkSize, numberOption, parseIdSequences, runArgsFromJson, runArgsFromOptions, runJson, type RunArgs } from './train-args.js';

const USAGE = `usage:
  zipper train --ids FILE --out DIR [--init TOWER_DIR | --d 64 --layers 2 --heads 4 [--vocab N]]
               [--steps 200] [--batch 8] [--seq 64] [--lr 3e-3] [--min-lr LR] [--warmup 10]
               [--accum 1] [--clip 1] [--weight-decay 0.1] [--freeze PREFIX]... [--seed 0]
               [--every 50] [--keep 2] [--log-every 10] [--workers N] [--json]
  zipper train --out DIR --resume [--from-step N] [--ids FILE] [--workers N] [--log-every N] [--json]
               continue the run in DIR exactly where it stopped

FILE holds one sequence per line as whitespace-separated ids (what \`zipper bpe encode\` prints),
or a JSON array of id arrays. --vocab defaults to max id + 1. --init fine-tunes a saved tower
(loadTower directory); its architecture is the tower's, so --d, --layers, --heads and --vocab
are refused with it. Writes DIR/run.json (the resolved arguments), DIR/train/step-N/ (training
checkpoints every --every steps and at the end) and DIR/tower/ (the final tower, for loadTower).
--resume reads DIR/run.json, so every other option comes from the original run and options that
would change the loss curve (--steps, --lr, ...) are refused; a finished run stays finished (to
train further, start a new run with --init DIR/tower). It continues from the newest checkpoint,
or from DIR/train/step-N with --from-step N (e.g. when the newest one is damaged). --ids may name
the same data at another path; ids outside the run's vocabulary are refused.
--workers N splits every micro-batch's rows between this thread and N worker threads, each with
its own single-threaded engine (DataParallelGradients; wasm/cpu backends); 0 = in-process.
Default: 1 on wasm/cpu with >= 2 cores and single-threaded kernels, else 0. The losses equal the
in-process ones up to float summation order, so it is not saved in run.json: a run may resume
with another --workers.`;

const OPTIONS = {
  ids: { type: 'string' },
  out: { type: 'string' },
  init: { type: 'string' },
  vocab: { type: 'string' },
  d: { type: 'string' },
  layers: { type: 'string' },
  heads: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  seq: { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string' },
  accum: { type: 'string' },
  clip: { type: 'string' },
  'weight-decay': { type: 'string' },
  freeze: { type: 'string', multiple: true },
  seed: { type: 'string' },
  every: { type: 'string' },
  keep: { type: 'string' },
  'log-every': { type: 'string' },
  workers: { type: 'string' },
  resume: { type: 'boolean', default: false },
  'from-step': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Options that only describe how this invocation runs, not the run itself: allowed with --resume. */
const RESUME_OPTIONS = new Set(['out', 'resume', 'from-step', 'ids', 'workers', 'log-every', 'json', 'help']);
const ARCHITECTURE_OPTIONS = ['d', 'layers', 'heads', 'vocab'] as const;

/** The tower to train, and the vocabulary size the run uses. */
async function buildTower(a: RunArgs, vocab: number): Promise<Tower> {
  if (a.init) {
    const t = await loadTower(a.init);
    if (t.config.maxSeqLen < a.seq) {
      t.dispose();
      throw new UsageError(
        `--seq ${a.seq} is longer than the --init tower's maxSeqLen ${t.config.maxSeqLen}; use --seq <= ${t.config.maxSeqLen}`,
      );
    }
    return t;
  }
  return Tower.create({ vocabSize: vocab, dModel: a.d, nLayers: a.layers, nHeads: a.heads, maxSeqLen: a.seq }, { seed: a.seed });
}

/** Vocabulary of a new run (from --init, --vocab or the ids), checked against the ids and the size limits. */
async function resolveVocab(a: RunArgs, maxId: number): Promise<number> {
  if (a.init) {
    let vocab: number;
    try {
      vocab = (await readTowerCheckpointInfo(a.init)).config.vocabSize;
    } catch (e) {
      if (e instanceof CheckpointError) throw new UsageError(`--init ${a.init}: ${e.message}`);
      throw e;
    }
    if (maxId >= vocab)
      throw new UsageError(`id ${maxId} in ${a.ids} is outside the --init tower's vocabulary (${vocab} ids: 0..${vocab - 1})`);
    return vocab;
  }
  const vocab = a.vocab ?? maxId + 1;
  if (maxId >= vocab)
    throw new UsageError(`id ${maxId} in ${a.ids} is outside --vocab ${vocab} (ids 0..${vocab - 1}); raise --vocab or check the ids`);
  checkSize(vocab, a, a.vocab !== undefined ? '--vocab' : `max id ${maxId} + 1 in ${a.ids}`);
  try {
    resolveTowerConfig({ vocabSize: vocab, dModel: a.d, nLayers: a.layers, nHeads: a.heads, maxSeqLen: a.seq });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`--d ${a.d} --heads ${a.heads}: ${e.message}`);
    throw e;
  }
  return vocab;
}

/** The step directory to resume from: --from-step N, else the newest complete one. */
async function resumeDir(trainDir: string, fromStep: string | undefined): Promise<string | undefined> {
  const steps = await listTrainingCheckpoints(trainDir);
  if (fromStep === undefined) return latestCheckpoint(trainDir);
  const n = numberOption(fromStep, 'from-step', { int: true, min: 0 });
  if (!steps.includes(n)) {
    throw new UsageError(
      `--from-step ${n}: no checkpoint ${path.join(trainDir, stepDirName(n))}; saved steps: ${steps.join(', ') || 'none'}`,
    );
  }
  return path.join(trainDir, stepDirName(n));
}

/** A damaged checkpoint's error, with the older steps the user can pick instead. */
async function withOlderSteps(e: unknown, trainDir: string, dir: string): Promise<unknown> {
  if (!(e instanceof CheckpointError)) return e;
  const current = Number(/step-(\d+)/.exec(path.basename(dir))?.[1] ?? NaN);
  const older = (await listTrainingCheckpoints(trainDir)).filter((s: number) => s < current).reverse();
  const hint =
    older.length > 0
      ? `; to resume from an older checkpoint pass --from-step ${older[0]} (saved steps: ${older.join(', ')})`
      : '; no older checkpoint is saved';
  return new CheckpointError(`${e.message}${hint}`);
}

export const train: Command = {
  name: 'train',
  summary: 'train or fine-tune a decoder tower on token ids (checkpoints, exact --resume)',
  async run(argv) {
    const { values: v } = parse(argv, OPTIONS, USAGE);
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    if (!v.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
    const explicitWorkers = v.workers === undefined ? undefined : numberOption(v.workers, 'workers', { int: true, min: 0, max: 64 });
    const logEvery = numberOption(v['log-every'] ?? '10', 'log-every', { int: true, min: 1 });
    const out = path.resolve(v.out);
    const runFile = path.join(out, 'run.json');
    const trainDir = path.join(out, 'train');
    const given = Object.keys(v).filter(
      (k) => (v as Record<string, unknown>)[k] !== undefined && (v as Record<string, unknown>)[k] !== false,
    );
    let a: RunArgs;
    let vocab: number;
    let seqs: number[][];
    const readIds = (file: string, option: string): [number[][], number] => {
      const s = parseIdSequences(readInputFile(file, option).toString('utf8'), file);
      return [s, s.reduce((m, q) => q.reduce((mm, x) => Math.max(mm, x), m), 0)];
    };
    if (v.resume) {
      const refused = given.filter((k) => !RESUME_OPTIONS.has(k));
      if (refused.length > 0) {
        throw new UsageError(
          `--resume continues the run in ${out} with the options saved in run.json; ${refused.map((k) => `--${k}`).join(', ')} cannot change on resume (the loss curve would differ). ` +
            `To train further or differently, start a new run from its tower: zipper train --init ${path.join(out, 'tower')} --ids FILE --out NEW_DIR`,
        );
      }
      if (!existsSync(runFile)) throw new UsageError(`--resume: no run.json in ${out}; start the run without --resume first`);
      a = runArgsFromJson(readInputFile(runFile, '--resume: run file').toString('utf8'), runFile);
      if (v.ids) a = { ...a, ids: path.resolve(v.ids) };
      let maxId: number;
      [seqs, maxId] = readIds(a.ids, v.ids ? '--ids' : `the run's ids file (${runFile}); pass --ids FILE if it moved:`);
      vocab = a.vocab ?? (a.init ? (await readTowerCheckpointInfo(a.init)).config.vocabSize : maxId + 1);
      if (maxId >= vocab)
        throw new UsageError(
          `id ${maxId} in ${a.ids} is outside this run's vocabulary of ${vocab} (ids 0..${vocab - 1}, from ${runFile}); resume with the ids the run was trained on, or start a new run`,
        );
    } else {
      if (v['from-step'] !== undefined) throw new UsageError('--from-step N picks the checkpoint to --resume from; it needs --resume');
      if (v.init) {
        const clash = ARCHITECTURE_OPTIONS.filter((k) => v[k] !== undefined);
        if (clash.length > 0)
          throw new UsageError(
            `--init takes the architecture (width, layers, heads, vocabulary) from the tower in ${v.init}; drop ${clash.map((k) => `--${k}`).join(', ')}`,
          );
      }
      a = runArgsFromOptions(v, USAGE);
      if (existsSync(trainDir)) throw new UsageError(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
      let maxId: number;
      [seqs, maxId] = readIds(a.ids, '--ids');
      vocab = await resolveVocab(a, maxId);
      a = { ...a, vocab };
      try {
        mkdirSync(out, { recursive: true });
      } catch (e) {
        throw new UsageError(`cannot create --out ${out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      writeOutputFile(runFile, runJson(a), '--out');
    }
    const info = await initBackend();
    const workers = explicitWorkers ?? defaultDataParallelWorkers(info);
    const tower = await buildTower(a, vocab);
    let data: BatchIterator;
    try {
      data = new BatchIterator(seqs, { batchSize: a.batch, seqLen: a.seq, seed: a.seed });
    } catch (e) {
      tower.dispose();
      throw e;
    }
    const log = (p: StepProgress) => {
      if (p.step % logEvery !== 0 && p.step !== a.steps) return;
      if (v.json)
        console.log(
          JSON.stringify({ step: p.step, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm, tokensPerSecond: Math.round(p.tokensPerSecond) }),
        );
      else
        console.log(
          `step ${p.step}/${a.steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  |g| ${p.gradNorm.toFixed(3)}  ${Math.round(p.tokensPerSecond)} tok/s`,
        );
    };
    const parallel = workers > 0 ? new DataParallelGradients(tower, { workers }) : undefined;
    if (parallel?.config.note && !v.json) console.log(`--workers: ${parallel.config.note}`);
    let trainer: Trainer;
    try {
      trainer = new Trainer(tower, data, {
        schedule: { peakLr: a.lr, minLr: Math.min(a.minLr, a.lr), warmupSteps: Math.min(a.warmup, a.steps), totalSteps: a.steps },
        optimizer: { weightDecay: a.weightDecay },
        maxGradNorm: a.clip,
        accumulationSteps: a.accum,
        freezePrefixes: a.freeze,
        checkpoint: { dir: trainDir, every: a.every, keep: a.keep },
        onStep: log,
        ...(parallel ? { strategy: parallel } : {}),
      });
    } catch (e) {
      parallel?.dispose();
      tower.dispose();
      throw e;
    }
    try {
      if (v.resume) {
        const last = await resumeDir(trainDir, v['from-step']);
        if (last) {
          try {
            await trainer.resume(last);
          } catch (e) {
            throw await withOlderSteps(e, trainDir, last);
          }
          if (!v.json) console.log(`resumed from ${last} (step ${trainer.step})`);
        }
        if (trainer.step >= a.steps) {
          console.error(
            `the run in ${out} is complete: step ${trainer.step} of --steps ${a.steps} (run.json); nothing to train, the tower is saved again. ` +
              `To train further, start a new run from it: zipper train --init ${path.join(out, 'tower')} --ids FILE --out NEW_DIR --steps N`,
          );
        }
      }
      await trainer.train(Math.max(0, a.steps - trainer.step));
      if (trainer.step % a.every !== 0) await trainer.save(trainDir, { keep: a.keep });
      await saveTower(path.join(out, 'tower'), tower, { metadata: { trainedSteps: trainer.step, ids: a.ids } });
      if (!v.json) console.log(`saved ${path.join(out, 'tower')} after ${trainer.step} steps`);
    } finally {
      trainer.dispose();
      tower.dispose();
    }
    return 0;
  },
};
