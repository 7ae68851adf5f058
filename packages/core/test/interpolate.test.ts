// Weight interpolation and averages (model/interpolate.ts): the blend equals a float64 reference to
// float32 rounding, the endpoints and the elements equal in every set are exact bit for bit, an
// average of three equals float32 arithmetic in the sets' order bit for bit, and bad alphas,
// weights or mismatched sets are typed errors that leave nothing allocated.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { ConfigError, ShapeError } from '../src/errors.js';
import { averageWeights, interpolateWeights } from '../src/model/interpolate.js';
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
    expect(() => interpolateWeights(a.params, ints, 0.5)).toThrow(/emb\.weight is int32 in weight set 1; only float32 weights average/);
    expect(tf.memory().numTensors).toBe(n);
    ints.get('emb.weight')!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
    b.dispose();
  });

  it('averageWeights: three sets equal float32 arithmetic in order bit for bit; elements equal in all three are exact', () => {
    const sets = [1, 2, 3].map((seed) => Tower.create(TOWER, { seed }));
    const held = 'blocks.1.up.weight'; // equal in all three: exact
    for (const t of sets.slice(1)) t.params.get(held)!.assign(sets[0]!.params.get(held)!);
    const twoOf = 'blocks.0.qkv.weight'; // equal in two of three: averaged like any other
    sets[1]!.params.get(twoOf)!.assign(sets[0]!.params.get(twoOf)!);
    const w = [0.5, 0.3, 0.2];
    const before = tf.memory().numTensors;
    const out = averageWeights(
      sets.map((t) => t.params),
      w,
    );
    const f = Math.fround;
    let averaged = 0;
    for (const [k, t] of out) {
      const [x, y, z] = sets.map((s) => s.params.get(k)!.dataSync() as Float32Array);
      const want = x!.map((v, i) => (v === y![i] && v === z![i] ? v : f(f(f(v * f(w[0]!)) + f(y![i]! * f(w[1]!))) + f(z![i]! * f(w[2]!)))));
      expect(Array.from(t.dataSync()), k).toEqual(Array.from(want));
      if (k === held) expect(bits(t)).toEqual(bits(sets[0]!.params.get(k)!));
      else averaged++;
    }
    expect(averaged).toBe(out.size - 1);
    expect(bits(out.get(twoOf)!)).not.toEqual(bits(sets[0]!.params.get(twoOf)!));
    for (const t of out.values()) t.dispose();
    // one set with weight 1 is that set; two sets are interpolateWeights bit for bit
    const one = averageWeights([sets[0]!.params], [1]);
    for (const [k, t] of one) expect(bits(t)).toEqual(bits(sets[0]!.params.get(k)!));
    for (const t of one.values()) t.dispose();
    const pair = averageWeights([sets[0]!.params, sets[2]!.params], [0.75, 0.25]);
    const ip = interpolateWeights(sets[0]!.params, sets[2]!.params, 0.25);
    for (const [k, t] of pair) expect(bits(t)).toEqual(bits(ip.get(k)!));
    for (const t of [...pair.values(), ...ip.values()]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const t of sets) t.dispose();
  });

  it('averageWeights refuses weights that do not sum to 1, a weight count unlike the sets and no sets', () => {
    const a = Tower.create(TOWER, { seed: 1 });
    const before = tf.memory().numTensors;
    expect(() => averageWeights([a.params, a.params], [0.5, 0.6])).toThrow(/the weights must sum to 1, got 0\.5 \+ 0\.6 = 1\.1/);
    expect(() => averageWeights([a.params, a.params], [1])).toThrow(/2 weight sets but 1 weights/);
    expect(() => averageWeights([a.params, a.params], [1.5, -0.5])).toThrow(ConfigError);
    expect(() => averageWeights([], [])).toThrow(/no weight sets/);
    const ok = averageWeights([a.params, a.params, a.params], [0.1, 0.2, 0.7]); // sums to 1 within rounding
    for (const t of ok.values()) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});
