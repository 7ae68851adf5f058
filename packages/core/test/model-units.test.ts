/** RMSNorm, RoPE and GELU against hand-computed numbers; seeded init; config resolution. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyRope, applyRopeAt, geluTanh, initBackend, resolveTowerConfig, rmsNorm, Tower, towerParamSpecs } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

describe('layers against hand-computed values', () => {
  it('RMSNorm: x * rsqrt(mean(x^2) + eps) * scale, eps inside the root', () => {
    const out = tf.tidy(() =>
      rmsNorm(
        tf.tensor2d([
          [3, 4],
          [1e-3, 1e-3],
        ]),
        tf.tensor1d([1, 2]),
        1e-6,
      ).arraySync(),
    );
    // row 0: mean square 12.5 -> [3, 8] / sqrt(12.5); row 1: mean square 1e-6, + eps = 2e-6
    expect(out[0]![0]).toBeCloseTo(0.8485281, 6);
    expect(out[0]![1]).toBeCloseTo(2.2627416, 6);
    expect(out[1]![0]).toBeCloseTo(0.7071068, 5); // would be 1.0 without eps
    expect(out[1]![1]).toBeCloseTo(1.4142136, 5);
  });

  it('RoPE rotates interleaved pairs (x0,x1), (x2,x3) by pos * base^(-2i/K)', () => {
    // K = 4, position 2: pair 0 angle 2, pair 1 angle 2 * 10000^-0.5 = 0.02
    const out = tf.tidy(() => Array.from(applyRope(tf.tensor4d([1, 2, 3, 4], [1, 1, 1, 4]), 2, 10000).dataSync()));
    const want = [
      1 * Math.cos(2) - 2 * Math.sin(2),
      1 * Math.sin(2) + 2 * Math.cos(2),
      3 * Math.cos(0.02) - 4 * Math.sin(0.02),
      3 * Math.sin(0.02) + 4 * Math.cos(0.02),
    ];
    expect(want.map((x) => +x.toFixed(5))).toEqual([-2.23474, 0.077, 2.91941, 4.0592]); // hand check of the formula
    out.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 5));
  });

  it('RoPE at position 0 is the identity and positions follow `start` along T', () => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 3 * 3 * 6 }, (_, i) => Math.sin(i)),
      [2, 3, 3, 6],
    ); // [B, H, T, K]
    const all = applyRope(x, 0, 10000);
    expect(Array.from(tf.slice(all, [0, 0, 0, 0], [2, 3, 1, 6]).dataSync())).toEqual(
      Array.from(tf.slice(x, [0, 0, 0, 0], [2, 3, 1, 6]).dataSync()),
    );
    const tail = applyRope(tf.slice(x, [0, 0, 1, 0], [2, 3, 2, 6]) as tf.Tensor4D, 1, 10000);
    const a = tf.slice(all, [0, 0, 1, 0], [2, 3, 2, 6]).dataSync();
    const b = tail.dataSync();
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
    tf.dispose([x, all, tail]);
  });

  it('RoPE at given positions: bit for bit applyRope at integer ones, per row; fractional ones as the formula; its gradient the inverse rotation', () => {
    const [B, H, T, K] = [2, 3, 4, 6];
    const x = tf.tensor4d(
      Array.from({ length: B * H * T * K }, (_, i) => Math.sin(i)),
      [B, H, T, K],
    );
    // row 0 at 0..3 and row 1 at 5..8: each row is applyRope at its own start, bit for bit
    const at = applyRopeAt(x, Float32Array.from([0, 1, 2, 3, 5, 6, 7, 8]), 10000);
    const row = (t: tf.Tensor4D, b: number) => Array.from(tf.slice(t, [b, 0, 0, 0], [1, H, T, K]).dataSync());
    const r0 = applyRope(tf.slice(x, [0, 0, 0, 0], [1, H, T, K]) as tf.Tensor4D, 0, 10000);
    const r1 = applyRope(tf.slice(x, [1, 0, 0, 0], [1, H, T, K]) as tf.Tensor4D, 5, 10000);
    expect(row(at, 0)).toEqual(Array.from(r0.dataSync()));
    expect(row(at, 1)).toEqual(Array.from(r1.dataSync()));
    // fractional positions: pair i of position p rotated by p * 10000^(-2i/K), in float64
    const pos = [0.25, 1.5, 2.75, 7.125, 0, 3.5, 9.25, 11];
    const frac = applyRopeAt(x, Float32Array.from(pos), 10000).dataSync();
    const xs = x.dataSync();
    let worst = 0;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++)
          for (let i = 0; i < K / 2; i++) {
            const o = ((b * H + h) * T + t) * K + 2 * i;
            const ang = pos[b * T + t]! * Math.pow(10000, (-2 * i) / K);
            const [x0, x1] = [xs[o]!, xs[o + 1]!];
            worst = Math.max(
              worst,
              Math.abs(frac[o]! - (x0 * Math.cos(ang) - x1 * Math.sin(ang))),
              Math.abs(frac[o + 1]! - (x0 * Math.sin(ang) + x1 * Math.cos(ang))),
            );
          }
    expect(worst).toBeLessThan(1e-5);
    // a rotation's gradient is its inverse: d/dx sum(rope(x) * w) = rope^-1(w) = rope at -p
    const w = tf.tensor4d(
      Array.from({ length: B * H * T * K }, (_, i) => Math.cos(3 * i)),
      [B, H, T, K],
    );
    const g = tf
      .grad((v: tf.Tensor) => tf.sum(tf.mul(applyRopeAt(v as tf.Tensor4D, Float32Array.from(pos), 10000), w)))(x)
      .dataSync();
    const inv = applyRopeAt(w, Float32Array.from(pos.map((p) => -p)), 10000).dataSync();
    for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(inv[i]!, 5);
    expect(() => applyRopeAt(x, new Float32Array(3), 10000)).toThrow(/B \* T = 2 \* 4/);
    tf.dispose([x, at, r0, r1, w]);
  });

  it('GELU is the tanh approximation', () => {
    const out = tf.tidy(() => Array.from(geluTanh(tf.tensor1d([1, -0.5, 3])).dataSync()));
    [0.8411919906, -0.1542859902, 2.9963626079].forEach((w, i) => expect(out[i]).toBeCloseTo(w, 6));
  });
});

describe('seeded init', () => {
  const cfg = { vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 };

  it('same seed -> identical weights, another seed -> different ones', () => {
    const a = Tower.create(cfg, { seed: 42 });
    const b = Tower.create(cfg, { seed: 42 });
    const c = Tower.create(cfg, { seed: 43 });
    for (const [key, v] of a.params) {
      expect(Array.from(b.param(key).dataSync()), key).toEqual(Array.from(v.dataSync()));
      if (!key.endsWith('.scale')) expect(Array.from(c.param(key).dataSync()), key).not.toEqual(Array.from(v.dataSync()));
    }
    [a, b, c].forEach((t) => t.dispose());
  });

  it('distributions: emb normal std 0.02, linears uniform +-1/sqrt(in), scales ones', () => {
    const t = Tower.create({ vocabSize: 257, dModel: 64, nLayers: 1, nHeads: 4 }, { seed: 1 });
    const stats = (key: string) => {
      const d = t.param(key).dataSync();
      let s = 0,
        s2 = 0,
        mx = 0;
      for (const x of d) {
        s += x;
        s2 += x * x;
        mx = Math.max(mx, Math.abs(x));
      }
      return { mean: s / d.length, std: Math.sqrt(s2 / d.length - (s / d.length) ** 2), max: mx };
    };
    const emb = stats('emb.weight');
    expect(emb.std).toBeGreaterThan(0.0195);
    expect(emb.std).toBeLessThan(0.0205);
    for (const [key, inDim] of [
      ['blocks.0.qkv.weight', 64],
      ['blocks.0.down.weight', 256],
    ] as const) {
      const s = stats(key);
      expect(s.max).toBeLessThanOrEqual(1 / Math.sqrt(inDim));
      expect(s.std).toBeCloseTo(1 / Math.sqrt(inDim) / Math.sqrt(3), 2); // uniform(-a, a) has std a / sqrt(3)
    }
    expect(Array.from(t.param('norm.scale').dataSync()).every((x) => x === 1)).toBe(true);
    expect(t.numParams).toBe(257 * 64 + 64 * 192 + 64 * 64 + 64 * 256 * 2 + 64 * 3);
    t.dispose();
  });

  it('untied head adds head.weight [D, V]', () => {
    const specs = towerParamSpecs(resolveTowerConfig({ vocabSize: 13, dModel: 8, nLayers: 1, nHeads: 2, tieEmbeddings: false }));
    expect(specs.at(-1)).toMatchObject({ key: 'head.weight', shape: [8, 13] });
    const t = Tower.create({ vocabSize: 13, dModel: 8, nLayers: 1, nHeads: 2, tieEmbeddings: false });
    const logits = tf.tidy(() => t.forward(tf.tensor2d([[1, 2, 3]], undefined, 'int32')).logits.shape);
    expect(logits).toEqual([1, 3, 13]);
    t.dispose();
  });
});

describe('resolveTowerConfig', () => {
  it('fills defaults, freezes, and does not mutate its input', () => {
    const input = { vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 };
    const c = resolveTowerConfig(input);
    expect(c).toEqual({ ...input, mlpRatio: 4, normEps: 1e-6, ropeBase: 10000, maxSeqLen: 2048, tieEmbeddings: true });
    expect(Object.isFrozen(c)).toBe(true);
    expect(input).toEqual({ vocabSize: 13, dModel: 28, nLayers: 2, nHeads: 2 });
    expect(resolveTowerConfig(c)).toEqual(c);
  });
});
