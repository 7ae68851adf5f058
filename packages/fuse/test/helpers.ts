/**
 * Shared fixtures of the fuse tests: two (or three) tiny towers of DIFFERENT widths and prime
 * vocabularies, and small helpers. Sizes are prime where they can be (7, 11, 13) so a swapped
 * axis cannot pass by accident.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Tower, Trainer } from '@zipper/core';
import { ASR, freezePrefixes, fusedGradients, TaskMixture, TTS } from '../src/index.js';
import type { AlignedItem, Example, FusedBatch, FusedLossOptions, TowerEntry, Zipper, ZipperOptions } from '../src/index.js';

export async function setup(): Promise<void> {
  await initBackend();
}

/** text: V 13, D 12, 2 heads, 2 layers (bos 11, eos 12). speech: V 11, D 8, 2 heads, 3 layers (bos 9, eos 10). */
export function towers(seed = 1): TowerEntry[] {
  return [
    { name: 'text', tower: Tower.create({ vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 64 }, { seed }), bos: 11, eos: 12 },
    {
      name: 'speech',
      tower: Tower.create({ vocabSize: 11, dModel: 8, nLayers: 3, nHeads: 2, maxSeqLen: 64 }, { seed: seed + 1 }),
      bos: 9,
      eos: 10,
    },
  ];
}

/** Four aligned pairs for the tiny towers: text content in [0, 11), speech units in [0, 9). */
export const PAIRS: AlignedItem[] = [
  { text: [1, 2, 3], speech: [4, 4, 5, 6, 6, 7, 1] },
  { text: [4, 5], speech: [2, 3, 3, 8, 0] },
  { text: [6, 7, 8, 9], speech: [1, 1, 5, 2, 7, 7, 3] },
  { text: [10, 0, 1], speech: [8, 6, 4, 2, 0] },
];

/**
 * A Trainer of `z` on PAIRS (ASR and TTS 1:1, batch 4, seed 7) at a constant lr 1e-2, no weight
 * decay, with `loss`; frozen: `freeze` (default the config's towers).
 */
export function pairsTrainer(z: Zipper, loss: FusedLossOptions, freeze: readonly string[] = freezePrefixes(z)): Trainer<FusedBatch> {
  const data = new TaskMixture(z.config, PAIRS, {
    batchSize: 4,
    seed: 7,
    tasks: [
      { task: ASR, weight: 1 },
      { task: TTS, weight: 1 },
    ],
  });
  return new Trainer(z, data, {
    strategy: fusedGradients(z, undefined, loss),
    freezePrefixes: [...freeze],
    schedule: { peakLr: 1e-2, minLr: 1e-2, warmupSteps: 0, totalSteps: 1000 },
    optimizer: { weightDecay: 0 },
  });
}

/** A third tower: image, V 7, D 16, 4 heads, 2 layers (bos 5, eos 6). */
export function imageTower(seed = 3): TowerEntry {
  return {
    name: 'image',
    tower: Tower.create({ vocabSize: 7, dModel: 16, nLayers: 2, nHeads: 4, maxSeqLen: 64 }, { seed }),
    bos: 5,
    eos: 6,
  };
}

/** text@1 <- speech@1, text@2 <- speech@3, speech@2 <- text@1, speech@3 <- text@2 (i_text = 1, i_speech != 1 for one direction). */
export const SCHEDULE: ZipperOptions = {
  schedule: [
    { to: 'text', toLayer: 1, from: 'speech', fromLayer: 1 },
    { to: 'text', toLayer: 2, from: 'speech', fromLayer: 3 },
    { to: 'speech', toLayer: 2, from: 'text', fromLayer: 1 },
    { to: 'speech', toLayer: 3, from: 'text', fromLayer: 2 },
  ],
};

const text = (...ids: number[]) => ({ tower: 'text', ids: [11, ...ids, 12] });
const speech = (...ids: number[]) => ({ tower: 'speech', ids: [9, ...ids, 10] });

/** A ragged batch: ASR, TTS, and text-speech-text, of different lengths. */
export function examples(): Example[] {
  return [
    [speech(1, 2, 3, 4, 5, 6, 7), { ...text(3, 1, 4), target: true }],
    [text(2, 7, 1, 8, 2, 8), { ...speech(5, 5, 3), target: true }],
    [text(1, 2), speech(8, 3, 0, 1, 6), { ...text(9, 10, 0), target: true }],
  ];
}

/** Sets every gate (`gate`, `gate_attn`, `gate_ff`) whose key matches to `value`. */
export function setGates(z: Zipper, value: number, match: (key: string) => boolean = () => true): void {
  for (const [k, v] of z.params) if (/(^|\.)gate(_attn|_ff)?$/.test(k) && match(k)) v.assign(tf.fill(v.shape, value));
}

/** Sets every fusion weight to deterministic non-trivial values (biases too), so no branch is idle. */
export function perturbFusion(z: Zipper, seed = 5): void {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  for (const [k, v] of z.params) {
    if (k.startsWith('towers.')) continue;
    const vals = Float32Array.from({ length: v.size }, () => (k.endsWith('.scale') ? 1 + 0.2 * next() : 0.4 * next()));
    v.assign(tf.tensor(vals, v.shape));
  }
}

export function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** The [T, V] slice of row b of logits [B, T, V]. */
export function row(t: tf.Tensor3D, b: number): Float32Array {
  const [, T, V] = t.shape;
  return values(t).slice(b * T * V, (b + 1) * T * V);
}
