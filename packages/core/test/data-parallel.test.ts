// DataParallelGradients: the loss and gradients of a batch split over the main thread and 1 or 2
// workers equal the in-process ones (odd batch sizes, a shard with no target), a Trainer with
// workers follows the in-process loss curve and is deterministic, a failing or dying worker
// gives a TrainingError and changes nothing, dispose leaves no worker and no tensor behind.
// The workers run the built package (packages/core/dist/worker.js): `npx turbo run build` first.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRel, snapshot } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { ConfigError } from '../src/errors.js';
import { Tower } from '../src/model/tower.js';
import os from 'node:os';
import type { BackendInfo } from '../src/backend.js';
import {
  DataParallelGradients,
  DataParallelWorkerError,
  defaultDataParallelWorkers,
  splitBatchRows,
  workerExecArgv,
} from '../src/parallel/data-parallel.js';
import { BatchIterator, InProcessGradients, Trainer, TrainingError, type Batch, type GradientResult } from '../src/train/index.js';
// @ts-expect-error plain-JS fixture without types
import { createBigram } from './data-parallel-replica.fixture.mjs';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 16 } as const;
const FIXTURE = new URL('./data-parallel-replica.fixture.mjs', import.meta.url).href;
/** Max |a - b| / max |b| allowed between a sharded and an unsharded result (float32 summation order). */
const TOL = 2e-6;

function corpus(): { tokens: number[]; mask: number[] }[] {
  return Array.from({ length: 7 }, (_, s) => {
    const n = 9 + 4 * s;
    return {
      tokens: Array.from({ length: n }, (_, i) => (3 * i + s) % 13),
      mask: Array.from({ length: n }, (_, i) => ((i + s) % 5 === 0 ? 0 : 1)),
    };
  });
}

/** A [B, T] batch of tokens < vocab; rows listed in `emptyRows` have mask 0 everywhere. */
function batchOf(B: number, T: number, vocab: number, emptyRows: readonly number[] = []): Batch {
  const n = B * T;
  const inputs = Int32Array.from({ length: n }, (_, i) => (7 * i + 3) % vocab);
  const targets = Int32Array.from({ length: n }, (_, i) => (5 * i + 1) % vocab);
  const mask = Float32Array.from({ length: n }, (_, i) => (emptyRows.includes(Math.floor(i / T)) ? 0 : i % 4 === 3 ? 0 : 1));
  return { batchSize: B, seqLen: T, inputs, targets, mask };
}

const targetsIn = (b: Batch): number => b.mask.reduce((s, x) => s + x, 0);

function disposeResult(r: GradientResult): void {
  tf.dispose([r.loss, ...r.grads.values()]);
}

const workerCount = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort').length;

beforeAll(async () => {
  await initBackend();
});

describe('splitBatchRows', () => {
  it('splits rows into contiguous shards, sizes differing by at most one, larger first', () => {
    const b = batchOf(7, 3, 13);
    const parts = splitBatchRows(b, 3);
    expect(parts.map((p) => p.batchSize)).toEqual([3, 2, 2]);
    expect(Int32Array.from(parts.flatMap((p) => [...p.inputs]))).toEqual(b.inputs);
    expect(splitBatchRows(batchOf(1, 3, 13), 3).map((p) => p.batchSize)).toEqual([1]);
  });
});

describe('workerExecArgv', () => {
  it('drops the flags a worker rejects (--input-type, both spellings) and keeps the rest in order', () => {
    expect(
      workerExecArgv(['--input-type=module', '--max-old-space-size=4096', '--input-type', 'commonjs', '--enable-source-maps']),
    ).toEqual(['--max-old-space-size=4096', '--enable-source-maps']);
    expect(workerExecArgv([])).toEqual([]);
  });
});

describe('defaultDataParallelWorkers', () => {
  it('is 1 on wasm/cpu with >= 2 cores and single-threaded kernels, else 0', () => {
    const native = { used: true, reason: '', threads: 1 };
    const info = (backend: BackendInfo['backend'], threads: number, nativeThreads: number) =>
      ({ backend, provider: '', threads, simd: true, versions: {}, native: { ...native, threads: nativeThreads } }) as BackendInfo;
    const cores = os.availableParallelism();
    expect(defaultDataParallelWorkers(info('wasm', 1, 1))).toBe(cores >= 2 ? 1 : 0);
    expect(defaultDataParallelWorkers(info('cpu', 1, 1))).toBe(cores >= 2 ? 1 : 0);
    expect(defaultDataParallelWorkers(info('wasm', 2, 1))).toBe(0);
    expect(defaultDataParallelWorkers(info('wasm', 1, 2))).toBe(0);
    expect(defaultDataParallelWorkers(info('tensorflow', 0, 1))).toBe(0);
  });
});

describe('DataParallelGradients', () => {
  const names = (t: { params: ReadonlyMap<string, unknown> }) => [...t.params.keys()];

  for (const workers of [1, 2]) {
    it(`${workers} worker(s): loss and gradients equal the in-process ones (B = 5 and 3, a shard with no target)`, async () => {
      const tower = Tower.create(TOWER, { seed: 3 });
      const dp = new DataParallelGradients(tower, { workers });
      const ref = new InProcessGradients(tower);
      // B=5 with rows 3, 4 masked out: with 1 worker its shard (rows 3..4) counts no target.
      for (const batch of [batchOf(5, 7, 13, [3, 4]), batchOf(3, 7, 13)]) {
        const context = { trainable: names(tower), denominator: targetsIn(batch) + 2 };
        const before = tf.memory().numTensors;
        const a = await dp.computeGradients(batch, context);
        const b = ref.computeGradients(batch, context);
        expect(tf.memory().numTensors).toBe(before + 2 * (1 + tower.params.size));
        expect(Math.abs(a.loss.dataSync()[0]! - b.loss.dataSync()[0]!)).toBeLessThan(TOL);
        for (const k of context.trainable) expect(maxRel(a.grads.get(k)!.dataSync(), b.grads.get(k)!.dataSync()), k).toBeLessThan(TOL);
        expect(dp.stats?.rows.reduce((s, r) => s + r, 0)).toBe(batch.batchSize);
        disposeResult(a);
        disposeResult(b);
      }
      dp.dispose();
      await dp.closed();
      tower.dispose();
    });
  }

  it('a generic replica (module factory) trains a subset of keys and matches in-process', async () => {
    const model = createBigram();
    const dp = new DataParallelGradients(model, { workers: 1, replica: { kind: 'module', module: FIXTURE, export: 'createBigram' } });
    const batch = batchOf(4, 5, 11);
    const context = { trainable: ['out.weight'], denominator: targetsIn(batch) };
    const a = await dp.computeGradients(batch, context);
    const b = new InProcessGradients(model).computeGradients(batch, context);
    expect([...a.grads.keys()]).toEqual(['out.weight']);
    expect(Math.abs(a.loss.dataSync()[0]! - b.loss.dataSync()[0]!)).toBeLessThan(TOL);
    expect(maxRel(a.grads.get('out.weight')!.dataSync(), b.grads.get('out.weight')!.dataSync())).toBeLessThan(TOL);
    disposeResult(a);
    disposeResult(b);
    dp.dispose();
    await dp.closed();
    model.dispose();
  });

  it('a Trainer with 1 worker follows the in-process loss curve, the loss falls, and two runs are bit-identical', async () => {
    const run = async (workers: number | undefined): Promise<{ losses: number[]; params: Map<string, Float32Array> }> => {
      const tower = Tower.create(TOWER, { seed: 5 });
      const data = new BatchIterator(corpus(), { batchSize: 5, seqLen: 7, seed: 2 });
      const trainer = new Trainer(tower, data, {
        schedule: { peakLr: 3e-2, minLr: 3e-2, warmupSteps: 0, totalSteps: 1 },
        accumulationSteps: 2,
        ...(workers === undefined ? {} : { strategy: new DataParallelGradients(tower, { workers }) }),
      });
      const losses = (await trainer.train(12)).map((p) => p.loss);
      const params = snapshot(tower.params);
      trainer.dispose();
      tower.dispose();
      return { losses, params };
    };
    const before = tf.memory().numTensors;
    const single = await run(undefined);
    const a = await run(1);
    const b = await run(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(a.losses).toEqual(b.losses);
    for (const [k, v] of a.params) expect(Buffer.from(v.buffer).equals(Buffer.from(b.params.get(k)!.buffer)), k).toBe(true);
    for (let i = 0; i < single.losses.length; i++) expect(Math.abs(a.losses[i]! - single.losses[i]!), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(a.losses.at(-1)!).toBeLessThan(0.8 * a.losses[0]!);
  });

  for (const [what, args, message] of [
    [
      'throws in its 2nd step',
      { failOnCall: 2 },
      /step 2 failed: data-parallel worker 1 failed: bigram replica: planned failure on call 2/,
    ],
    ['dies in its 2nd step', { exitOnCall: 2 }, /step 2 failed: data-parallel worker 1 exited with code 3/],
    [
      'hangs in its 2nd step (timeoutMs 1500)',
      { hangOnCall: 2 },
      /step 2 failed: data-parallel worker 1 did not answer within 1500 ms and was stopped/,
    ],
  ] as const) {
    it(`a worker that ${what}: TrainingError naming it, nothing changed, the next step works`, async () => {
      const model = createBigram();
      const dp = new DataParallelGradients(model, {
        workers: 1,
        timeoutMs: 1500,
        replica: { kind: 'module', module: FIXTURE, export: 'createBigram', args },
      });
      const data = new BatchIterator(
        corpus().map((s) => s.tokens.map((t) => t % 11)),
        { batchSize: 4, seqLen: 5, seed: 1 },
      );
      const trainer = new Trainer(model, data, { strategy: dp, schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 1 } });
      await trainer.trainStep();
      const params = snapshot(model.params);
      const moments = snapshot(trainer.optimizer.stateTensors());
      const moment0 = trainer.optimizer.step;
      const position = data.state;
      const tensors = tf.memory().numTensors;
      const err = await trainer.trainStep().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error & { cause?: unknown }).cause).toBeInstanceOf(DataParallelWorkerError);
      expect(snapshot(model.params)).toEqual(params);
      expect(snapshot(trainer.optimizer.stateTensors())).toEqual(moments);
      expect(trainer.optimizer.step).toBe(moment0);
      expect(data.state).toEqual(position);
      expect(trainer.step).toBe(1);
      expect(tf.memory().numTensors).toBe(tensors);
      // The failure was in one call: the retried step (a respawned worker if it died) completes.
      const p = await trainer.trainStep();
      expect(p.step).toBe(2);
      expect(Number.isFinite(p.loss)).toBe(true);
      trainer.dispose();
      await dp.closed();
      model.dispose();
    });
  }

  it('a replica that cannot be built, or does not match the model, fails the call naming the worker', async () => {
    const model = createBigram();
    const batch = batchOf(4, 5, 11);
    const context = { trainable: [...model.params.keys()], denominator: targetsIn(batch) };
    const cases = [
      [{ throwOnCreate: true }, /worker 1 could not start: bigram replica: planned failure in the factory/],
      [
        { width: 5 },
        /worker 1 built a replica that does not match the model: emb.weight: shape \[11, 5\], expected \[11, 6\]; out.weight: shape \[5, 11\], expected \[6, 11\]/,
      ],
    ] as const;
    for (const [args, message] of cases) {
      const before = tf.memory().numTensors;
      const dp = new DataParallelGradients(model, {
        workers: 1,
        replica: { kind: 'module', module: FIXTURE, export: 'createBigram', args },
      });
      const err = await dp.computeGradients(batch, context).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataParallelWorkerError);
      expect((err as DataParallelWorkerError).worker).toBe(1);
      expect((err as Error).message).toMatch(message);
      expect(tf.memory().numTensors).toBe(before);
      dp.dispose();
      await dp.closed();
    }
    model.dispose();
  });

  it('dispose terminates the workers; nothing keeps running and no tensor leaks', async () => {
    const idle = workerCount();
    const before = tf.memory().numTensors;
    const tower = Tower.create(TOWER, { seed: 1 });
    const dp = new DataParallelGradients(tower, { workers: 2 });
    await dp.start();
    expect(workerCount()).toBeGreaterThan(idle);
    const batch = batchOf(4, 7, 13);
    disposeResult(await dp.computeGradients(batch, { trainable: names(tower), denominator: targetsIn(batch) }));
    dp.dispose();
    await dp.closed();
    expect(workerCount()).toBe(idle);
    await expect(dp.computeGradients(batch, { trainable: names(tower), denominator: 1 })).rejects.toThrow(/disposed/);
    tower.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('validates its options', () => {
    const tower = Tower.create(TOWER, { seed: 1 });
    expect(() => new DataParallelGradients(tower, { workers: -1 })).toThrow(ConfigError);
    expect(() => new DataParallelGradients(tower, { workers: 1.5 })).toThrow(/integer from 0/);
    expect(() => new DataParallelGradients(tower, { workers: 1, timeoutMs: 0 })).toThrow(/timeoutMs must be > 0/);
    const bigram = createBigram();
    expect(() => new DataParallelGradients(bigram, { workers: 1 })).toThrow(/not a Tower; pass replica/);
    expect(() => new DataParallelGradients(bigram, { workers: 1, replica: { kind: 'module', module: './x.mjs' } })).toThrow(
      /absolute path/,
    );
    const zero = new DataParallelGradients(tower, { workers: 0 });
    expect(zero.workers).toBe(0);
    zero.dispose();
    bigram.dispose();
    tower.dispose();
  });
});
