/**
 * Rotary cross positions (config.crossRope): core's rope tables with a scale put position p at
 * p * scale (scale 2 = the even rows of the unscaled table, bit for bit; scale 1 = the unscaled
 * table); the cross-attention output depends on n * rate - m only (shifting the reader by 1 and
 * the source by rate changes nothing; shifting the reader alone does); configs are validated and a
 * fused checkpoint keeps the spec. (Cached decoding equals uncached with crossRope: generate.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng } from '@zipper/core';
import { ropeTables } from '@zipper/core/ops';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crossKeysValues,
  gatedCrossAttention,
  loadZipper,
  resolveZipperConfig,
  saveZipper,
  Zipper,
  type CrossAttentionWeights,
  type CrossMask,
} from '../src/index.js';
import { SCHEDULE, setup, towers, values } from './helpers.js';

beforeAll(setup);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const rng = new Rng(17);
const randn = (shape: number[], scale = 0.5) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => scale * rng.normal()),
    shape,
  );
};

describe('rotary cross positions', () => {
  it('rope tables with a scale: scale 2 is the even rows of the unscaled table, scale 1 the unscaled table, bit for bit', () => {
    const plain = ropeTables(0, 16, 8, 10000);
    const one = ropeTables(0, 16, 8, 10000, 1);
    expect(Array.from(one.cos)).toEqual(Array.from(plain.cos));
    const two = ropeTables(0, 8, 8, 10000, 2);
    for (let p = 0; p < 8; p++)
      for (let i = 0; i < 4; i++) {
        expect(two.cos[p * 4 + i]).toBe(plain.cos[2 * p * 4 + i]);
        expect(two.sin[p * 4 + i]).toBe(plain.sin[2 * p * 4 + i]);
      }
  });

  it('the cross-attention output depends on n * rate - m: reader +1 and source +rate change nothing; reader +1 alone does', () => {
    const [D, S, T, H] = [8, 6, 3, 2];
    const w: CrossAttentionWeights = {
      proj: [{ weight: randn([D, D]) as tf.Tensor2D, bias: randn([D], 0.1) as tf.Tensor1D }],
      normAttn: tf.ones([D]),
      q: randn([D, D], 1) as tf.Tensor2D,
      kv: randn([D, 2 * D], 1) as tf.Tensor2D,
      out: randn([D, D]) as tf.Tensor2D,
      gateAttn: tf.tensor1d([1]),
      normFf: tf.ones([D]),
      up: randn([D, 16]) as tf.Tensor2D,
      down: randn([16, D]) as tf.Tensor2D,
      gateFf: tf.tensor1d([0]),
    };
    const source = randn([1, S, D], 1) as tf.Tensor3D;
    const x = randn([1, T, D], 1) as tf.Tensor3D;
    const mask: CrossMask = { mask: tf.ones([1, T, S], 'bool') as tf.Tensor3D, visible: tf.ones([1, T, 1]) as tf.Tensor3D };
    const o = { nHeads: H, normEps: 1e-5, rope: { base: 10000, rate: 3 } };
    const at = (readerStart: number, sourceStart: number) =>
      values(gatedCrossAttention(w, x, crossKeysValues(w, source, o, sourceStart), mask, o, readerStart));
    const base = at(2, 5);
    const shifted = at(3, 8); // n + 1, m + 3: n * 3 - m unchanged
    base.forEach((v, i) => expect(Math.abs(v - shifted[i]!)).toBeLessThan(1e-4));
    const readerOnly = at(3, 5);
    const diff = Math.max(...base.map((v, i) => Math.abs(v - readerOnly[i]!)));
    expect(diff).toBeGreaterThan(1e-3);
    // without crossRope the positions do not matter at all
    const blind = { nHeads: H, normEps: 1e-5 };
    const b0 = values(gatedCrossAttention(w, x, crossKeysValues(w, source, blind, 5), mask, blind, 2));
    const b1 = values(gatedCrossAttention(w, x, crossKeysValues(w, source, blind, 0), mask, blind, 7));
    expect(Array.from(b1)).toEqual(Array.from(b0));
  });

  it('configs are validated; a fused checkpoint keeps the spec', async () => {
    const base = { towers: towers().map((t) => ({ name: t.name, config: t.tower.config, bos: t.bos, eos: t.eos })), ...SCHEDULE };
    expect(resolveZipperConfig(base).crossRope).toEqual([]);
    expect(() => resolveZipperConfig({ ...base, crossRope: [{ to: 'text', from: 'speech', rate: 0 }] })).toThrow(
      /crossRope\[0\].rate must be a positive number/,
    );
    expect(() => resolveZipperConfig({ ...base, crossRope: [{ to: 'text', from: 'image', rate: 1 }] })).toThrow(ConfigError);
    expect(() =>
      resolveZipperConfig({
        ...base,
        crossRope: [
          { to: 'text', from: 'speech', rate: 1 },
          { to: 'text', from: 'speech', rate: 2 },
        ],
      }),
    ).toThrow(/appears twice/);
    const spec = [{ to: 'text', from: 'speech', rate: 2.5 }];
    const z = Zipper.create(towers(), { ...SCHEDULE, crossRope: spec }, { seed: 2 });
    const dir = mkdtempSync(path.join(tmpdir(), 'zipper-cross-rope-'));
    dirs.push(dir);
    await saveZipper(dir, z);
    const back = await loadZipper(dir);
    expect(back.config.crossRope).toEqual(spec);
    back.dispose();
    z.dispose();
  });
});
