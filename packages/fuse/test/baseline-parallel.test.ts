/**
 * Data-parallel fine-tuning of the single-decoder baseline (core's DataParallelGradients with a
 * `SingleDecoder` replica): a batch splits by rows, each shard cut to its longest row; 1 worker
 * follows the in-process curve per stream. The worker loads the BUILT packages
 * (packages/core/dist, packages/fuse/dist): `npx turbo run build` first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Trainer } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASR,
  SingleDecoder,
  singleDecoderDataParallel,
  splitBaselineBatch,
  TaskMixture,
  taskExample,
  TTS,
  type BaselineBatch,
} from '../src/index.js';
import { PAIRS, setup, towers } from './helpers.js';

beforeAll(setup);

function make(): SingleDecoder {
  const [text, speech] = towers();
  const s = speech!;
  const m = SingleDecoder.create(text!, [{ name: 'speech', config: s.tower.config, bos: s.bos, eos: s.eos }], { seed: 1 });
  text!.tower.dispose();
  s.tower.dispose();
  return m;
}

const mixture = (m: SingleDecoder) =>
  new TaskMixture<BaselineBatch>(m.config, PAIRS, {
    batchSize: 5,
    seed: 3,
    tasks: [
      { task: ASR, weight: 1 },
      { task: TTS, weight: 1 },
    ],
    layout: (ex) => m.layout(ex),
  });

async function curve(workers: number | undefined): Promise<{ losses: number[][]; tokens: number[] }> {
  const m = make();
  const strategy = workers === undefined ? m.gradients() : singleDecoderDataParallel(m, { workers });
  const t = new Trainer(m, mixture(m), { strategy, schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 100 } });
  const steps = await t.train(4);
  const losses = steps.map((s) => [s.loss, s.streams['text']?.loss ?? NaN, s.streams['speech']?.loss ?? NaN]);
  t.dispose();
  if (workers !== undefined) {
    const dp = strategy as ReturnType<typeof singleDecoderDataParallel>;
    expect(dp.workers).toBe(workers); // the shards really ran in a worker
    expect(dp.stats!.workerComputeMs).toBeGreaterThan(0);
    await dp.closed();
  }
  m.dispose();
  return { losses, tokens: steps.map((s) => s.tokens) };
}

describe('data-parallel single-decoder training', () => {
  it('splits a batch by rows (7 rows into 3 shards of 3, 2, 2), each cut to its longest row, the rows unchanged', () => {
    const m = make();
    const items = [...PAIRS, ...PAIRS.slice(0, 3)];
    const batch = m.layout(items.map((it, i) => taskExample(m.config, i % 2 === 0 ? ASR : TTS, it)));
    // the real part of each row: ids, targets and both masks
    const rowsOf = (x: BaselineBatch) =>
      Array.from({ length: x.batchSize }, (_, r) => {
        const row = <A extends Int32Array | Float32Array>(a: A) => [...a.subarray(r * x.length, r * x.length + x.lengths[r]!)];
        return { ids: row(x.ids), targets: row(x.targets), text: row(x.masks['text']!), speech: row(x.masks['speech']!) };
      });
    const shards = splitBaselineBatch(batch, 3);
    expect(shards.map((s) => s.batchSize)).toEqual([3, 2, 2]);
    for (const s of shards) {
      expect(s.length).toBe(Math.max(...s.lengths));
      expect(s.ids.length).toBe(s.batchSize * s.length);
      expect(s.masks['speech']!.length).toBe(s.batchSize * s.length);
    }
    expect(shards.some((s) => s.length < batch.length)).toBe(true); // some shard is shorter than the batch
    expect(shards.flatMap(rowsOf)).toEqual(rowsOf(batch));
    expect(shards.map((s) => [...s.lengths]).flat()).toEqual([...batch.lengths]);
    // the padding of a shard is the batch's: pad id, no target
    const pads = shards.flatMap((s) =>
      Array.from({ length: s.batchSize }, (_, r) => [...s.ids.subarray(r * s.length + s.lengths[r]!, (r + 1) * s.length)]).flat(),
    );
    expect(new Set(pads)).toEqual(new Set([m.config.towers[0]!.eos]));
    expect(splitBaselineBatch(batch, 9).map((s) => s.batchSize)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    m.dispose();
  });

  it('1 worker follows the in-process curve per stream (4 steps, 1e-4) with the same tokens', async () => {
    const before = tf.memory().numTensors;
    const single = await curve(undefined);
    const dp = await curve(1);
    expect(dp.tokens).toEqual(single.tokens);
    for (let i = 0; i < single.losses.length; i++)
      for (let j = 0; j < 3; j++) expect(Math.abs(dp.losses[i]![j]! - single.losses[i]![j]!), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });
});
