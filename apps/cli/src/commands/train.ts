/**
 * `zipper train`: train (or fine-tune) a decoder tower on token ids, with checkpoints and
 * exact resume. Modality-agnostic: the ids may be BPE text ids (`zipper bpe encode`) or speech
 * units.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BatchIterator,
  DataParallelGradients,
  defaultDataParallelWorkers,
  initBackend,
  latestCheckpoint,
  loadTower,
  saveTower,
  Tower,
  Trainer,
  type StepProgress,
  type TowerConfig,
} from '@zipper/core';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';

const USAGE = `usage:
  zipper train --ids FILE --out DIR [--init TOWER_DIR | --d 64 --layers 2 --heads 4 [--vocab N]]
               [--steps 200] [--batch 8] [--seq 64] [--lr 3e-3] [--min-lr LR] [--warmup 10]
               [--accum 1] [--clip 1] [--weight-decay 0.1] [--freeze PREFIX]... [--seed 0]
               [--every 50] [--keep 2] [--log-every 10] [--workers N] [--json]
  zipper train --out DIR --resume [--ids FILE] [--workers N]   continue the run in DIR exactly where it stopped

FILE holds one sequence per line as whitespace-separated ids (what \`zipper bpe encode\` prints),
or a JSON array of id arrays. --vocab defaults to max id + 1. --init fine-tunes a saved tower
(loadTower directory). Writes DIR/run.json (the resolved arguments), DIR/train/step-N/ (training
checkpoints every --every steps and at the end) and DIR/tower/ (the final tower, for loadTower).
--resume reads DIR/run.json, so every other option comes from the original run.
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
  d: { type: 'string', default: '64' },
  layers: { type: 'string', default: '2' },
  heads: { type: 'string', default: '4' },
  steps: { type: 'string', default: '200' },
  batch: { type: 'string', default: '8' },
  seq: { type: 'string', default: '64' },
  lr: { type: 'string', default: '3e-3' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string', default: '10' },
  accum: { type: 'string', default: '1' },
  clip: { type: 'string', default: '1' },
  'weight-decay': { type: 'string', default: '0.1' },
  freeze: { type: 'string', multiple: true },
  seed: { type: 'string', default: '0' },
  every: { type: 'string', default: '50' },
  keep: { type: 'string', default: '2' },
  'log-every': { type: 'string', default: '10' },
  workers: { type: 'string' },
  resume: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Everything a run depends on; saved as DIR/run.json so --resume rebuilds the same trainer. */
interface RunArgs {
  readonly ids: string;
  readonly init?: string;
  readonly vocab?: number;
  readonly d: number;
  readonly layers: number;
  readonly heads: number;
  readonly steps: number;
  readonly batch: number;
  readonly seq: number;
  readonly lr: number;
  readonly minLr: number;
  readonly warmup: number;
  readonly accum: number;
  readonly clip: number;
  readonly weightDecay: number;
  readonly freeze: readonly string[];
  readonly seed: number;
  readonly every: number;
  readonly keep: number;
}

function num(v: string | undefined, name: string, opts: { int?: boolean; min?: number } = {}): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}, got "${v}"`);
  }
  return n;
}

/** One sequence per line (whitespace-separated ids) or a JSON array of arrays. */
export function parseIdSequences(text: string, source: string): number[][] {
  const trimmed = text.trim();
  let seqs: unknown;
  if (trimmed.startsWith('[')) {
    try {
      seqs = JSON.parse(trimmed);
    } catch (e) {
      throw new UsageError(`${source}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(seqs) || !seqs.every((s) => Array.isArray(s))) throw new UsageError(`${source}: JSON must be an array of id arrays`);
  } else {
    seqs = trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).map(Number));
  }
  const out = seqs as number[][];
  out.forEach((s, i) => {
    const bad = s.find((x) => !Number.isInteger(x) || x < 0);
    if (bad !== undefined) throw new UsageError(`${source}: sequence ${i + 1} has "${bad}", ids must be integers >= 0`);
  });
  if (out.length === 0) throw new UsageError(`${source}: no sequences`);
  return out;
}

function argsFrom(v: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values']): RunArgs {
  if (!v.ids) throw new UsageError(`--ids FILE is required\n\n${USAGE}`);
  const lr = num(v.lr, 'lr', { min: 0 });
  return {
    ids: path.resolve(v.ids),
    ...(v.init ? { init: path.resolve(v.init) } : {}),
    ...(v.vocab !== undefined ? { vocab: num(v.vocab, 'vocab', { int: true, min: 1 }) } : {}),
    d: num(v.d, 'd', { int: true, min: 2 }),
    layers: num(v.layers, 'layers', { int: true, min: 1 }),
    heads: num(v.heads, 'heads', { int: true, min: 1 }),
    steps: num(v.steps, 'steps', { int: true, min: 1 }),
    batch: num(v.batch, 'batch', { int: true, min: 1 }),
    seq: num(v.seq, 'seq', { int: true, min: 1 }),
    lr,
    minLr: v['min-lr'] !== undefined ? num(v['min-lr'], 'min-lr', { min: 0 }) : lr / 10,
    warmup: num(v.warmup, 'warmup', { int: true, min: 0 }),
    accum: num(v.accum, 'accum', { int: true, min: 1 }),
    clip: num(v.clip, 'clip', { min: 0 }) || Infinity,
    weightDecay: num(v['weight-decay'], 'weight-decay', { min: 0 }),
    freeze: v.freeze ?? [],
    seed: num(v.seed, 'seed', { int: true, min: 0 }),
    every: num(v.every, 'every', { int: true, min: 1 }),
    keep: num(v.keep, 'keep', { int: true, min: 0 }),
  };
}

async function buildTower(a: RunArgs, maxId: number): Promise<Tower> {
  if (a.init) {
    const t = await loadTower(a.init);
    if (maxId >= t.config.vocabSize) throw new UsageError(`id ${maxId} in ${a.ids} is outside the initial tower's vocabulary (${t.config.vocabSize})`);
    return t;
  }
  const vocabSize = a.vocab ?? maxId + 1;
  if (maxId >= vocabSize) throw new UsageError(`id ${maxId} in ${a.ids} is outside --vocab ${vocabSize}`);
  const config: Partial<TowerConfig> & Pick<TowerConfig, 'vocabSize' | 'dModel' | 'nLayers' | 'nHeads'> = { vocabSize, dModel: a.d, nLayers: a.layers, nHeads: a.heads, maxSeqLen: a.seq };
  return Tower.create(config, { seed: a.seed });
}

export const train: Command = {
  name: 'train',
  summary: 'train or fine-tune a decoder tower on token ids (checkpoints, exact --resume)',
  async run(argv) {
    const { values: v } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false });
    if (v.help) {
      console.log(USAGE);
      return 0;
    }
    if (!v.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
    const explicitWorkers = v.workers === undefined ? undefined : num(v.workers, 'workers', { int: true, min: 0 });
    const out = path.resolve(v.out);
    const runFile = path.join(out, 'run.json');
    let a: RunArgs;
    if (v.resume) {
      if (!existsSync(runFile)) throw new UsageError(`--resume: no ${runFile}; start the run without --resume first`);
      a = JSON.parse(readFileSync(runFile, 'utf8')) as RunArgs;
      if (v.ids) a = { ...a, ids: path.resolve(v.ids) };
      a = { ...a, clip: (a.clip as number | null) ?? Infinity };
    } else {
      a = argsFrom(v);
      if (existsSync(path.join(out, 'train'))) throw new UsageError(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
      mkdirSync(out, { recursive: true });
      writeFileSync(runFile, JSON.stringify({ ...a, clip: a.clip === Infinity ? null : a.clip }, null, 2) + '\n');
    }
    const info = await initBackend();
    const workers = explicitWorkers ?? defaultDataParallelWorkers(info);
    const seqs = parseIdSequences(readFileSync(a.ids, 'utf8'), a.ids);
    const maxId = seqs.reduce((m, s) => s.reduce((mm, x) => Math.max(mm, x), m), 0);
    const tower = await buildTower(a, maxId);
    const data = new BatchIterator(seqs, { batchSize: a.batch, seqLen: a.seq, seed: a.seed });
    const logEvery = num(v['log-every'], 'log-every', { int: true, min: 1 });
    const log = (p: StepProgress) => {
      if (p.step % logEvery !== 0 && p.step !== a.steps) return;
      if (v.json) console.log(JSON.stringify({ step: p.step, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm, tokensPerSecond: Math.round(p.tokensPerSecond) }));
      else console.log(`step ${p.step}/${a.steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  |g| ${p.gradNorm.toFixed(3)}  ${Math.round(p.tokensPerSecond)} tok/s`);
    };
    const trainDir = path.join(out, 'train');
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
        const last = await latestCheckpoint(trainDir);
        if (last) {
          await trainer.resume(last);
          if (!v.json) console.log(`resumed from ${last} (step ${trainer.step})`);
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
