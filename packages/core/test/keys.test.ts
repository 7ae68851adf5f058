// Parameter keys as module paths (model/keys.ts): join, prefix and strip round-trip a tower's
// weights under `towers.<name>.`; one key-set check names missing, unexpected and mis-shaped
// keys, and it is the check of tower loading, training resume and optimizer state.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { CheckpointError, ShapeError } from '../src/errors.js';
import { joinKey, keySetProblems, prefixKeys, shapesOf, stripPrefix } from '../src/model/keys.js';
import { Tower } from '../src/model/tower.js';
import { BatchIterator, Trainer, loadTrainingCheckpoint, saveTrainingCheckpoint } from '../src/train/index.js';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 4, nHeads: 2, maxSeqLen: 16 } as const;

beforeAll(async () => {
  await initBackend();
});

describe('keys', () => {
  it('join, prefix and strip compose module paths and round-trip a tower', () => {
    expect(joinKey('towers', 'speech', 'blocks', 3, 'qkv.weight')).toBe('towers.speech.blocks.3.qkv.weight');
    expect(joinKey('cross', 'text_from_speech', 2, 'attn', 'q', 'weight')).toBe('cross.text_from_speech.2.attn.q.weight');
    expect(() => joinKey('blocks', -1)).toThrow(ShapeError);
    expect(() => joinKey('blocks.', 'x')).toThrow(/not a module path/);
    expect(() => prefixKeys('towers..text', new Map())).toThrow(/not a module path/);
    const tower = Tower.create(TOWER, { seed: 2 });
    const prefixed = prefixKeys('towers.speech', tower.params);
    expect([...prefixed.keys()].slice(0, 3)).toEqual([
      'towers.speech.emb.weight',
      'towers.speech.blocks.0.ln1.scale',
      'towers.speech.blocks.0.qkv.weight',
    ]);
    expect(prefixed.get('towers.speech.blocks.3.qkv.weight')).toBe(tower.params.get('blocks.3.qkv.weight'));
    const zipped = new Map([
      ...prefixed,
      ...prefixKeys('towers.text', tower.params),
      ['cross.text_from_speech.2.attn.q.weight', tower.params.get('norm.scale')!],
    ]);
    const back = stripPrefix('towers.speech', zipped);
    expect([...back.keys()]).toEqual([...tower.params.keys()]); // order kept, other towers and links left out
    expect(stripPrefix('towers.spee', zipped).size).toBe(0); // whole segments only
    // A tower rebuilt from the stripped map has the same weights.
    const copy = Tower.fromTensors(TOWER, back);
    for (const [k, v] of copy.params) expect(v.dataSync()).toEqual(tower.params.get(k)!.dataSync());
    copy.dispose();
    tower.dispose();
  });

  it('keySetProblems names missing, unexpected and mis-shaped keys (long lists counted)', () => {
    const expected = new Map<string, readonly number[]>([
      ['a.weight', [3, 5]],
      ['b.scale', [5]],
      ...Array.from({ length: 11 }, (_, i) => [`blocks.${i}.w`, [2]] as const),
    ]);
    const actual = new Map<string, readonly number[]>([
      ['a.weight', [5, 3]],
      ['c.extra', [1]],
    ]);
    expect(keySetProblems(expected, actual)).toEqual([
      'missing keys: b.scale, blocks.0.w, blocks.1.w, blocks.2.w, blocks.3.w, blocks.4.w, blocks.5.w, blocks.6.w (and 4 more)',
      'unexpected keys: c.extra',
      'a.weight: shape [5, 3], expected [3, 5]',
    ]);
    expect(keySetProblems(expected, new Map(expected))).toEqual([]);
  });

  it('Tower.fromTensors, training resume and optimizer state refuse a mismatch, naming the key', async () => {
    const tower = Tower.create(TOWER, { seed: 1 });
    const tensors = new Map<string, tf.Tensor>(tower.params);
    tensors.delete('blocks.2.up.weight');
    expect(() => Tower.fromTensors(TOWER, tensors)).toThrow(/missing keys: blocks\.2\.up\.weight/);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-keys-'));
    try {
      const data = () => new BatchIterator([Array.from({ length: 40 }, (_, i) => (3 * i) % 13)], { batchSize: 2, seqLen: 7, seed: 1 });
      const trainer = new Trainer(tower, data(), { schedule: { peakLr: 1e-2, totalSteps: 4 } });
      await trainer.train(1);
      await saveTrainingCheckpoint(dir, trainer);
      const moments = new Map(trainer.optimizer.stateTensors()); // keys and shapes only are read below
      trainer.dispose();
      // A wider MLP: every up/down weight has another shape.
      const other = Tower.create({ ...TOWER, mlpRatio: 2 }, { seed: 1 });
      const t2 = new Trainer(other, data(), { schedule: { peakLr: 1e-2, totalSteps: 4 } });
      const before = shapesOf(other.params);
      const err = await loadTrainingCheckpoint(dir, t2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(
        /model\.safetensors does not match the model: blocks\.0\.up\.weight: shape \[12, 48\], expected \[12, 24\]/,
      );
      expect(t2.step).toBe(0);
      expect(shapesOf(other.params)).toEqual(before);
      t2.dispose();
      other.dispose();
      // Optimizer state of other keys.
      const fresh = new Trainer(tower, data(), { schedule: { peakLr: 1e-2, totalSteps: 4 }, freezePrefixes: ['emb.'] });
      expect(() => fresh.optimizer.loadState(moments, 1)).toThrow(
        /optimizer state does not match the trained parameters: unexpected keys: emb\.weight\.exp_avg, emb\.weight\.exp_avg_sq/,
      );
      fresh.dispose();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      tower.dispose();
    }
  });
});
