/**
 * Data-parallel fine-tuning (core's DataParallelGradients with a zipped-model replica): 1 worker
 * follows the in-process curve per stream. The worker loads the BUILT packages
 * (packages/core/dist, packages/fuse/dist): `npx turbo run build` first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Trainer } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASR, freezePrefixes, fusedDataParallel, fusedGradients, splitFusedBatch, TaskMixture, TTS, Zipper } from '../src/index.js';
import { PAIRS, SCHEDULE, setup, towers } from './helpers.js';

beforeAll(setup);

async function curve(workers: number | undefined): Promise<number[][]> {
  const z = Zipper.create(towers(), { ...SCHEDULE, freeze: ['text'] }, { seed: 2 });
  const data = new TaskMixture(z.config, PAIRS, {
    batchSize: 5,
    seed: 3,
    tasks: [
      { task: ASR, weight: 1 },
      { task: TTS, weight: 1 },
    ],
  });
  const strategy = workers === undefined ? fusedGradients(z) : fusedDataParallel(z, { workers });
  const t = new Trainer(z, data, {
    strategy,
    freezePrefixes: freezePrefixes(z),
    schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 100 },
  });
  const out = (await t.train(4)).map((s) => [s.loss, s.streams['text']?.loss ?? NaN, s.streams['speech']?.loss ?? NaN]);
  t.dispose();
  if (workers !== undefined) await (strategy as ReturnType<typeof fusedDataParallel>).closed();
  z.dispose();
  return out;
}

describe('data-parallel fused training', () => {
  it('splits a fused batch by rows, leaving out towers a shard does not have', () => {
    const z = Zipper.create(towers(), SCHEDULE);
    const data = new TaskMixture(z.config, PAIRS, { batchSize: 5, seed: 3, tasks: [{ task: ASR, weight: 1 }] });
    const parts = splitFusedBatch(data.next(), 2);
    expect(parts.map((p) => p.batchSize)).toEqual([3, 2]);
    expect(Object.keys(parts[0]!.streams)).toEqual(['text', 'speech']);
    z.dispose();
  });

  it('1 worker follows the in-process curve per stream (4 steps, 1e-4)', async () => {
    const before = tf.memory().numTensors;
    const single = await curve(undefined);
    const dp = await curve(1);
    for (let i = 0; i < single.length; i++)
      for (let j = 0; j < 3; j++) expect(Math.abs(dp[i]![j]! - single[i]![j]!), `step ${i + 1}`).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
  });
});
