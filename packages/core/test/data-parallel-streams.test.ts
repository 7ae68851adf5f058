// DataParallelGradients with a multi-stream loss: the worker builds the same LossGradients from
// a module replica ({ params, loss, countTargets }), receives the step's per-stream
// denominators and returns its streams' losses. A two-stream toy model gives the in-process
// loss, stream losses and gradients within 2e-6 with 1 worker; a Trainer with 1 worker follows
// the in-process curve and resumes a saved run bit for bit.
// The workers run the built package (packages/core/dist/worker.js): `npx turbo run build` first.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRel } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { DataParallelGradients } from '../src/parallel/data-parallel.js';
import {
  BatchIterator,
  LossGradients,
  Trainer,
  accumulateGradients,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  type Batch,
  type BatchSource,
  type DataState,
  type LossSpec,
} from '../src/train/index.js';
// @ts-expect-error plain-JS fixture without types
import { createTwoStream, splitPair, TEXT_VOCAB, SPEECH_VOCAB } from './two-stream.fixture.mjs';

type Pair = { text: Batch; speech: Batch };
type TwoStream = LossSpec<Pair> & { params: Map<string, tf.Variable>; dispose(): void };
const FIXTURE = new URL('./two-stream.fixture.mjs', import.meta.url).href;
const TOL = 2e-6;

beforeAll(async () => {
  await initBackend();
});

function corpus(vocab: number, n: number, every: number): { tokens: number[]; mask: number[] }[] {
  return Array.from({ length: 5 }, (_, s) => {
    const len = n + 3 * s;
    return {
      tokens: Array.from({ length: len }, (_, i) => (2 * i + s) % vocab),
      mask: Array.from({ length: len }, (_, i) => ((i + s) % every === 0 ? 0 : 1)),
    };
  });
}

/** 5 rows per batch (an odd split: 3 main, 2 worker), text 5 positions, speech 13. */
class PairSource implements BatchSource<Pair, { text: DataState; speech: DataState }> {
  readonly text = new BatchIterator(corpus(TEXT_VOCAB, 7, 3), { batchSize: 5, seqLen: 5, seed: 21 });
  readonly speech = new BatchIterator(corpus(SPEECH_VOCAB, 17, 7), { batchSize: 5, seqLen: 13, seed: 22 });
  next(): Pair {
    return { text: this.text.next(), speech: this.speech.next() };
  }
  get state() {
    return { text: this.text.state, speech: this.speech.state };
  }
  restore(s: { text: DataState; speech: DataState }): void {
    this.text.restore(s.text);
    this.speech.restore(s.speech);
  }
}

const WEIGHTS = { text: 1, speech: 0.5 };

/** The in-process strategy, or 1 worker building the same LossGradients from the fixture. */
function strategyFor(m: TwoStream, workers: number | undefined) {
  const local = new LossGradients<Pair>(m);
  if (workers === undefined) return local;
  return new DataParallelGradients<Pair>(m, {
    workers,
    local,
    split: splitPair,
    replica: { kind: 'module', module: FIXTURE, export: 'createTwoStream', args: { weights: WEIGHTS } },
  });
}

describe('DataParallelGradients with a two-stream LossGradients', () => {
  it('1 worker: loss, per-stream losses and gradients equal the in-process ones within 2e-6', async () => {
    const m = createTwoStream({ weights: WEIGHTS }) as TwoStream;
    const dp = strategyFor(m, 1) as DataParallelGradients<Pair>;
    const ref = new LossGradients<Pair>(m);
    const src = new PairSource();
    const micro = [src.next(), src.next()];
    const keys = [...m.params.keys()].filter((k) => k !== 'towers.text.emb.weight');
    const before = tf.memory().numTensors;
    const a = await accumulateGradients(dp, micro, keys);
    const b = await accumulateGradients(ref, micro, keys);
    expect(dp.stats).toBeDefined(); // a worker computed a shard
    expect((splitPair(micro[0], 2) as Pair[]).map((p) => p.text.batchSize)).toEqual([3, 2]);
    expect(a.targets).toEqual(b.targets);
    expect(Object.keys(a.streams)).toEqual(['text', 'speech']);
    expect(Math.abs(a.loss.dataSync()[0]! - b.loss.dataSync()[0]!)).toBeLessThan(TOL);
    for (const s of ['text', 'speech']) expect(Math.abs(a.streams[s]! - b.streams[s]!), s).toBeLessThan(TOL);
    expect(Math.abs(b.loss.dataSync()[0]! - (b.streams['text']! + 0.5 * b.streams['speech']!))).toBeLessThan(1e-6);
    expect([...a.grads.keys()]).toEqual(keys);
    for (const k of keys) expect(maxRel(a.grads.get(k)!.dataSync(), b.grads.get(k)!.dataSync()), k).toBeLessThan(TOL);
    tf.dispose([a.loss, ...a.grads.values(), b.loss, ...b.grads.values()]);
    expect(tf.memory().numTensors).toBe(before);
    dp.dispose();
    await dp.closed();
    m.dispose();
  });

  it('a Trainer with 1 worker follows the in-process curve per stream and resumes a saved run bit for bit', async () => {
    const run = async (workers: number | undefined, steps: number, save?: { dir: string; at: 'save' | 'load' }) => {
      const m = createTwoStream({ weights: WEIGHTS }) as TwoStream;
      const trainer = new Trainer<Pair>(m, new PairSource(), {
        strategy: strategyFor(m, workers),
        freezePrefixes: ['towers.text.'],
        accumulationSteps: 2,
        schedule: { peakLr: 5e-2, minLr: 5e-3, warmupSteps: 2, totalSteps: 12 },
      });
      if (save?.at === 'load') await loadTrainingCheckpoint(save.dir, trainer);
      const curve = (await trainer.train(steps)).map((p) => [p.loss, p.streams['text']!.loss, p.streams['speech']!.loss]);
      if (save?.at === 'save') await saveTrainingCheckpoint(save.dir, trainer);
      trainer.dispose();
      m.dispose();
      return curve;
    };
    const before = tf.memory().numTensors;
    const single = await run(undefined, 8);
    const straight = await run(1, 8);
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 3; j++) expect(Math.abs(straight[i]![j]! - single[i]![j]!), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(straight[7]![2]!).toBeLessThan(straight[0]![2]! - 0.1); // speech learns; text is frozen
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-dp-streams-'));
    try {
      await run(1, 4, { dir, at: 'save' });
      expect(await run(1, 4, { dir, at: 'load' })).toEqual(straight.slice(4));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
