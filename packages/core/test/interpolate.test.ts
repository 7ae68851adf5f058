// Weight interpolation (model/interpolate.ts): the blend equals a float64 reference to float32
// rounding, the endpoints and the elements equal in both sets are exact bit for bit, and bad
// alphas or mismatched sets are typed errors that leave nothing allocated.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { interpolateWeights } from '../src/model/interpolate.js';
import { Tower } from '../src/model/tower.js';

const TOWER = { vocabSize: 13, dModel: 12, nLayers: 2, nHeads: 2, maxSeqLen: 16 } as const;

beforeAll(async () => {
  await initBackend();
});

const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

describe('interpolateWeights', () => {
  it('blends key by key like a float64 reference; alpha 0 and 1 and held elements are exact', () => {
    const a = Tower.create(TOWER, { seed: 1 });
    const b = Tower.create(TOWER, { seed: 2 });
    // one weight held by the fine-tuning (equal in both) and one half-held
    const held = 'blocks.1.up.weight';
    b.params.get(held)!.assign(a.params.get(held)!);
    const half = 'emb.weight';
    const mixed = tf.tidy(() => {
      const mask = tf.cast(tf.greater(tf.randomUniform(a.params.get(half)!.shape, 0, 1, 'float32', 7), 0.5), 'bool');
      return tf.where(mask, a.params.get(half)!, b.params.get(half)!);
    });
    b.params.get(half)!.assign(mixed);
    mixed.dispose();
    const before = tf.memory().numTensors;
    for (const alpha of [0, 0.3, 0.5, 1]) {
      const out = interpolateWeights(a.params, b.params, alpha);
      expect([...out.keys()]).toEqual([...a.params.keys()]);
      let worst = 0;
      for (const [k, t] of out) {
        const x = a.params.get(k)!.dataSync();
        const y = b.params.get(k)!.dataSync();
        const got = t.dataSync();
        for (let i = 0; i < got.length; i++) {
          const want = x[i] === y[i] ? x[i]! : (1 - alpha) * x[i]! + alpha * y[i]!;
          if (x[i] === y[i]) expect(got[i]).toBe(x[i]); // held: exact
          // relative to the larger endpoint: the blend's rounding (a midpoint near 0 has no relative bound)
          worst = Math.max(worst, Math.abs(got[i]! - want) / Math.max(Math.abs(x[i]!), Math.abs(y[i]!)));
        }
        if (alpha === 0) expect(bits(t)).toEqual(bits(a.params.get(k)!));
        if (alpha === 1) expect(bits(t)).toEqual(bits(b.params.get(k)!));
      }
      expect(worst).toBeLessThan(1e-6);
      if (alpha === 0.5) {
        // the blend moved the unheld weights: a weight of a and of b differ from the midpoint
        expect(bits(out.get('blocks.0.qkv.weight')!)).not.toEqual(bits(a.params.get('blocks.0.qkv.weight')!));
        expect(bits(out.get(held)!)).toEqual(bits(a.params.get(held)!));
      }
      for (const t of out.values()) t.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
  });

  it('refuses an alpha outside [0, 1] and sets with other keys or shapes, allocating nothing', () => {
    const a = Tower.create(TOWER, { seed: 1 });
    const b = Tower.create({ ...TOWER, dModel: 8 }, { seed: 2 });
    const before = tf.memory().numTensors;
    for (const alpha of [-0.1, 1.5, Number.NaN]) expect(() => interpolateWeights(a.params, a.params, alpha)).toThrow(ConfigError);
    expect(() => interpolateWeights(a.params, b.params, 0.5)).toThrow(ShapeError);
    expect(() => interpolateWeights(a.params, b.params, 0.5)).toThrow(/emb\.weight: shape \[13, 8\], expected \[13, 12\]/);
    const fewer = new Map([...a.params].slice(1));
    expect(() => interpolateWeights(a.params, fewer, 0.5)).toThrow(/unexpected keys|missing keys/);
    const ints = new Map([...a.params].map(([k, v]) => [k, k === 'emb.weight' ? tf.zeros(v.shape, 'int32') : v] as const));
    const n = tf.memory().numTensors;
    expect(() => interpolateWeights(a.params, ints, 0.5)).toThrow(/emb\.weight is float32 \/ int32/);
    expect(tf.memory().numTensors).toBe(n);
    ints.get('emb.weight')!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
  });
});
