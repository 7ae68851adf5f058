/**
 * The cross mask's `full` case (masks.ts): when every reader position sees every source position
 * (each decode step of TTS, speech reading its whole text) the gated block skips the mask and
 * `visible`; its output must equal the masked computation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  crossKeysValues,
  crossMask,
  crossMaskHost,
  gatedCrossAttention,
  gatedCrossAttentionWithPrior,
  type CrossAttentionWeights,
} from '../src/index.js';
import { setup } from './helpers.js';

beforeAll(setup);

describe('cross mask', () => {
  it('is full only when every real reader position sees every source position and nothing is padding', () => {
    // TTS decode step: text at 0..3, the speech position at 5
    expect(crossMaskHost(Int32Array.of(5), Int32Array.of(0, 1, 2, 3), 1, 1, 4).full).toBe(true);
    // a reader position before part of the source (ASR prefill over [speech][text] reading back, or a later segment)
    expect(crossMaskHost(Int32Array.of(2, 5), Int32Array.of(0, 1, 2, 3), 1, 2, 4).full).toBe(false);
    // padding in the source or in the reader
    expect(crossMaskHost(Int32Array.of(5), Int32Array.of(0, 1, 2, -1), 1, 1, 4).full).toBe(false);
    expect(crossMaskHost(Int32Array.of(5, -1), Int32Array.of(0, 1, 2, 3), 1, 2, 4).full).toBe(false);
    // no reader position sees anything: not full (and no mask at all)
    expect(crossMaskHost(Int32Array.of(0), Int32Array.of(1, 2), 1, 1, 2).full).toBe(false);
    expect(crossMask(Int32Array.of(0), Int32Array.of(1, 2), 1, 1, 2)).toBeUndefined();
  });

  it('the full path equals the masked path (same weights, same inputs)', () => {
    const [dx, dy, f, heads, b, t, s] = [16, 12, 32, 4, 2, 3, 5];
    let seed = 1;
    const w = (shape: number[], scale = 0.3) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale);
    const weights = {
      proj: [{ weight: w([dy, dx]), bias: w([dx]) }],
      normAttn: tf.add(1, w([dx], 0.1)),
      q: w([dx, dx]),
      kv: w([dx, 2 * dx]),
      out: w([dx, dx]),
      gateAttn: tf.tensor1d([0.7]),
      normFf: tf.add(1, w([dx], 0.1)),
      up: w([dx, f]),
      down: w([f, dx]),
      gateFf: tf.tensor1d([-0.4]),
    } as unknown as CrossAttentionWeights;
    const o = { nHeads: heads, normEps: 1e-6 };
    const x = w([b, t, dx], 1) as tf.Tensor3D;
    const kv = crossKeysValues(weights, w([b, s, dy], 1) as tf.Tensor3D, o);
    const reader = Int32Array.from({ length: b * t }, (_, i) => 10 + (i % t));
    const source = Int32Array.from({ length: b * s }, (_, i) => i % s);
    const before = tf.memory().numTensors;
    const m = crossMask(reader, source, b, t, s)!;
    expect(m.full).toBe(true);
    expect(tf.memory().numTensors).toBe(before); // a full mask uploads nothing
    const h = crossMaskHost(reader, source, b, t, s);
    const explicit = { mask: tf.tensor3d(h.mask, [b, t, s], 'bool'), visible: tf.tensor3d(h.visible, [b, t, 1], 'float32') };
    const full = gatedCrossAttention(weights, x, kv, m, o);
    const masked = gatedCrossAttention(weights, x, kv, explicit, o);
    const diff = tf.max(tf.abs(tf.sub(full, masked))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-6);
    expect(tf.max(tf.abs(tf.sub(full, x))).dataSync()[0]!).toBeGreaterThan(1e-2); // the block did something
    // the alignment prior's penalty too
    const prior = tf.randomUniform([b, t, s], 0, 1, 'float32', 7) as tf.Tensor3D;
    const pf = gatedCrossAttentionWithPrior(weights, x, kv, m, o, prior);
    const pm = gatedCrossAttentionWithPrior(weights, x, kv, explicit, o, prior);
    expect(Math.abs(pf.penalty.dataSync()[0]! - pm.penalty.dataSync()[0]!)).toBeLessThan(1e-5);
    expect(pf.penalty.dataSync()[0]!).toBeGreaterThan(0.1);
    expect(tf.max(tf.abs(tf.sub(pf.y, pm.y))).dataSync()[0]!).toBeLessThan(1e-6);
  });
});
