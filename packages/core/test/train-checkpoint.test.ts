// Training checkpoints: resume continues the exact loss curve; saves are atomic; tampering,
// other data and other configs are refused without changing anything.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { CheckpointError } from '../src/errors.js';
import { Tower } from '../src/model/tower.js';
import {
  BatchIterator,
  Trainer,
  latestCheckpoint,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  type TrainerOptions,
} from '../src/train/index.js';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 16 } as const;
const N = 3;
let tmp = '';

const corpus = () =>
  Array.from({ length: 5 }, (_, s) => Array.from({ length: 11 + 2 * s }, (_, i) => (5 * i + 2 * s + ((i * i) % 3)) % 13));

function setup(towerSeed: number, options: TrainerOptions = {}) {
  const tower = Tower.create(TOWER, { seed: towerSeed });
  const data = new BatchIterator(corpus(), { batchSize: 2, seqLen: 7, seed: 21 });
  const trainer = new Trainer(tower, data, {
    schedule: { peakLr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: 2 * N },
    accumulationSteps: 2,
    freezePrefixes: ['blocks.0.ln1.'],
    ...options,
  });
  return { tower, data, trainer, dispose: () => (trainer.dispose(), tower.dispose()) };
}

function values(params: ReadonlyMap<string, tf.Tensor>): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-train-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('training checkpoints', () => {
  it(`2N straight == N, save, fresh objects, load, N more: identical losses and weights (N = ${N})`, async () => {
    const straight = setup(1);
    const all = (await straight.trainer.train(2 * N)).map((p) => p.loss);
    const finalWeights = values(straight.tower.params);
    straight.dispose();

    const root = path.join(tmp, 'resume');
    const saved: number[] = [];
    const first = setup(1, { checkpoint: { dir: root, every: N, onSave: (_d, s) => saved.push(s) } });
    const firstLosses = (await first.trainer.train(N)).map((p) => p.loss);
    first.dispose();
    expect(saved).toEqual([N]);
    expect(firstLosses).toEqual(all.slice(0, N));

    // New objects, a differently initialized tower: everything must come from the checkpoint.
    const second = setup(99);
    const before = tf.memory().numTensors;
    const state = await second.trainer.resume(root);
    expect(tf.memory().numTensors).toBe(before);
    expect(state.step).toBe(N);
    expect(second.trainer.step).toBe(N);
    expect(second.trainer.optimizer.step).toBe(N);
    const rest = (await second.trainer.train(N)).map((p) => p.loss);
    expect(rest).toEqual(all.slice(N)); // tolerance 0
    expect(values(second.tower.params)).toEqual(finalWeights);
    second.dispose();
  });

  it('a save that crashes midway leaves the previous checkpoint intact and loadable', async () => {
    const root = path.join(tmp, 'atomic');
    const run = setup(2);
    await run.trainer.train(1);
    const good = await saveTrainingCheckpoint(root, run.trainer);
    const goodWeights = values(run.tower.params);
    await run.trainer.train(1);
    for (const stage of ['partial:optimizer.safetensors', 'commit']) {
      const err = await saveTrainingCheckpoint(root, run.trainer, {
        hook: (s) => {
          if (s === stage) throw new Error(`crash at ${s}`);
        },
      }).catch((e: unknown) => e);
      expect((err as Error).message).toBe(`crash at ${stage}`);
      expect(await latestCheckpoint(root)).toBe(good);
      expect((await fs.readdir(root)).filter((e) => e.startsWith('.'))).toEqual([]); // temp dirs cleaned up
    }
    const fresh = setup(3);
    await fresh.trainer.resume(root);
    expect(fresh.trainer.step).toBe(1);
    expect(values(fresh.tower.params)).toEqual(goodWeights);
    // keep = 2: a third save prunes the oldest step directory.
    await saveTrainingCheckpoint(root, run.trainer);
    await run.trainer.train(1);
    await saveTrainingCheckpoint(root, run.trainer);
    expect((await fs.readdir(root)).sort()).toEqual(['step-00000002', 'step-00000003']);
    run.dispose();
    fresh.dispose();
  });

  it('refuses tampered files, another config, other data or another selection, changing nothing', async () => {
    const root = path.join(tmp, 'refuse');
    const run = setup(4);
    await run.trainer.train(2);
    const dir = await saveTrainingCheckpoint(root, run.trainer);
    run.dispose();

    const check = async (s: ReturnType<typeof setup>, pattern: RegExp, target = dir) => {
      const weights = values(s.tower.params);
      const position = s.data.state;
      const tensors = tf.memory().numTensors;
      const err = await loadTrainingCheckpoint(target, s.trainer).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(pattern);
      expect(values(s.tower.params)).toEqual(weights);
      expect(s.data.state).toEqual(position);
      expect(s.trainer.step).toBe(0);
      expect(tf.memory().numTensors).toBe(tensors);
      s.dispose();
    };
    await check(setup(5, { maxGradNorm: 0.5 }), /maxGradNorm: checkpoint 1, trainer 0.5/);
    await check(setup(5, { freezePrefixes: ['emb.'] }), /trained keys differ/);
    await check(
      setup(5, { optimizer: { lrScale: (n) => (n.startsWith('emb.') ? 0.1 : 1) } }),
      /optimizer: checkpoint .*"lrScales":\{"emb\.weight":0\.1\}/,
    );
    const other = setup(5);
    const otherData = new BatchIterator(corpus().slice(1), { batchSize: 2, seqLen: 7, seed: 21 });
    await check(
      {
        ...other,
        data: otherData,
        trainer: new Trainer(other.tower, otherData, {
          schedule: { peakLr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: 2 * N },
          accumulationSteps: 2,
          freezePrefixes: ['blocks.0.ln1.'],
        }),
      },
      /windows/,
    );
    other.trainer.dispose();
    const bytes = await fs.readFile(path.join(dir, 'model.safetensors'));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0x40, bytes.length - 1);
    await fs.writeFile(path.join(dir, 'model.safetensors'), bytes);
    await check(setup(5), /sha256 does not match/);
    await check(setup(5), /no training checkpoint/, path.join(tmp, 'nothing-here'));
  });
});
