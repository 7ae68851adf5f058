/** Typed errors at the tower's boundary: ConfigError, TokenRangeError, ShapeError. */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, emptyCache, generate, initBackend, resolveTowerConfig, ShapeError, TokenRangeError, Tower } from '../src/index.js';

let tower: Tower;
beforeAll(async () => {
  await initBackend();
  tower = Tower.create({ vocabSize: 13, dModel: 28, nLayers: 1, nHeads: 2, maxSeqLen: 16 }, { seed: 1 });
});
afterAll(() => tower.dispose());

describe('ConfigError names the broken invariant', () => {
  const base = { vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 };
  it.each([
    [{ ...base, nHeads: 3 }, /dModel % nHeads !== 0/],
    [{ ...base, nHeads: 4 }, /head width dModel \/ nHeads = 7 must be even/],
    [{ ...base, vocabSize: 0 }, /vocabSize must be a positive integer, got 0/],
    [{ ...base, dModel: 2.5 }, /dModel must be a positive integer/],
    [{ ...base, nLayers: -1 }, /nLayers must be a positive integer/],
    [{ ...base, normEps: 0 }, /normEps must be a positive finite number/],
    [{ ...base, ropeBase: Number.NaN }, /ropeBase must be a positive finite number/],
    [{ ...base, maxSeqLen: 0 }, /maxSeqLen must be a positive integer/],
    [{ ...base, dmodel: 28 }, /unknown tower config field "dmodel"/],
  ])('%j', (cfg, msg) => {
    expect(() => resolveTowerConfig(cfg as never)).toThrow(ConfigError);
    expect(() => resolveTowerConfig(cfg as never)).toThrow(msg);
  });
});

describe('tower inputs', () => {
  it('TokenRangeError names the id, its position and the range', () => {
    const before = tf.memory().numTensors;
    const ids = tf.tensor2d(
      [
        [1, 2],
        [3, 13],
      ],
      undefined,
      'int32',
    );
    expect(() => tower.forward(ids)).toThrow(TokenRangeError);
    expect(() => tower.forward(ids)).toThrow('token id 13 at [1, 1] is outside [0, 13)');
    const neg = tf.tensor2d([[-1]], undefined, 'int32');
    expect(() => tower.embed(neg)).toThrow(TokenRangeError);
    tf.dispose([ids, neg]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ShapeError for wrong rank, dtype, width, cache and length', () => {
    const before = tf.memory().numTensors;
    const rank1 = tf.tensor1d([1, 2], 'int32');
    const floats = tf.tensor2d([[1, 2]], undefined, 'float32');
    const wide = tf.zeros([1, 2, 27]) as tf.Tensor3D;
    const ok = tf.tensor2d([[1, 2]], undefined, 'int32');
    const long = tf.zeros([1, 17], 'int32') as tf.Tensor2D;
    expect(() => tower.forward(rank1 as never)).toThrow(/rank 2 \[B, T\]/);
    expect(() => tower.forward(floats)).toThrow(/must be int32, got float32/);
    expect(() => tower.block(0, wide, { start: 0 })).toThrow(/last axis dModel = 28/);
    expect(() => tower.head(wide)).toThrow(ShapeError);
    const x = tf.zeros([1, 2, 28]) as tf.Tensor3D;
    expect(() => tower.block(1, x, { start: 0 })).toThrow(/block index 1 outside 0..0/);
    expect(() => tower.block(0, x, { start: 3, useCache: true })).toThrow(/cache would miss positions 0..2/);
    expect(() => tower.forward(long)).toThrow(/positions up to 17 exceed maxSeqLen 16/);
    expect(() => tower.forward(ok, { cache: { layers: [], length: 3 } })).toThrow(/empty cache must have length 0/);
    const r = tower.forward(ok, { cache: emptyCache() });
    const wrong = { layers: r.cache!.layers, length: 5 }; // length disagrees with the stored keys
    expect(() => tower.forward(ok, { cache: wrong })).toThrow(/S=start/);
    tf.dispose([rank1, floats, wide, x, ok, long, r.logits, r.cache!.layers[0]!.k, r.cache!.layers[0]!.v]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('generate validates prompts and options', async () => {
    await expect(generate(tower, [[1, 2], []], { maxNewTokens: 2 })).rejects.toThrow(/prompt row 1 must be a non-empty array/);
    await expect(generate(tower, [[1, 2.5]], { maxNewTokens: 2 })).rejects.toThrow(/prompt\[0\]\[1\] = 2.5 is not an integer/);
    await expect(generate(tower, [1, 99], { maxNewTokens: 2 })).rejects.toThrow(TokenRangeError);
    await expect(generate(tower, [1], { maxNewTokens: 0 })).rejects.toThrow(ConfigError);
    await expect(generate(tower, [1], { maxNewTokens: 2, topP: 1.5 })).rejects.toThrow(/topP must be in \(0, 1\]/);
    await expect(generate(tower, [1], { maxNewTokens: 2, temperature: -1 })).rejects.toThrow(/temperature must be/);
  });
});
