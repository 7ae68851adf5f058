/**
 * ctcLoss (src/ops/ctc.ts): the loss and its gradient equal an enumeration of every alignment
 * (small T and V: every path of T frames, its probability, the ones that collapse to the
 * labels; tools/test/ctc-parity.test.ts checks PyTorch's F.ctc_loss); padding frames get no
 * gradient; rows without an alignment are refused or zeroed.
 *
 * Legend: B batch, T frames, V classes (blank included), L labels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRel, values } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { ShapeError } from '../src/errors.js';
import { ctcLoss, ctcMinFrames } from '../src/ops/ctc.js';

/** -log p(labels) and its gradient over logits [T, V] of one row, by enumerating all V^T paths. */
function bruteForce(logits: Float32Array, t: number, v: number, labels: readonly number[], blank: number) {
  const probs = new Float64Array(t * v);
  for (let f = 0; f < t; f++) {
    let m = -Infinity;
    for (let k = 0; k < v; k++) m = Math.max(m, logits[f * v + k]!);
    let z = 0;
    for (let k = 0; k < v; k++) z += Math.exp(logits[f * v + k]! - m);
    for (let k = 0; k < v; k++) probs[f * v + k] = Math.exp(logits[f * v + k]! - m) / z;
  }
  let total = 0;
  const occ = new Float64Array(t * v);
  const path = new Array<number>(t).fill(0);
  for (let n = 0; n < v ** t; n++) {
    let r = n;
    for (let f = 0; f < t; f++) {
      path[f] = r % v;
      r = Math.floor(r / v);
    }
    const collapsed: number[] = [];
    path.forEach((k, f) => {
      if (k !== blank && (f === 0 || path[f - 1] !== k)) collapsed.push(k);
    });
    if (collapsed.length !== labels.length || collapsed.some((k, i) => k !== labels[i])) continue;
    let p = 1;
    path.forEach((k, f) => (p *= probs[f * v + k]!));
    total += p;
    path.forEach((k, f) => (occ[f * v + k] = occ[f * v + k]! + p));
  }
  const grad = new Float64Array(t * v);
  for (let i = 0; i < t * v; i++) grad[i] = probs[i]! - occ[i]! / total;
  return { nll: -Math.log(total), grad };
}

describe('ctcLoss', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('equals the enumeration of every alignment, loss and gradient, with padding frames and repeats', () => {
    const [b, t, v, blank] = [3, 6, 3, 0];
    const x = values(b * t * v, 11).map((a) => 2 * a);
    const labels = [[1, 2], [1, 1], [2]];
    const frames = [6, 5, 3];
    const logits = tf.tensor3d(x, [b, t, v]);
    const { value, grads } = tf.valueAndGrads((l: tf.Tensor) => tf.sum(ctcLoss(l as tf.Tensor3D, labels, { blank, frameLengths: frames })))(
      [logits],
    );
    const perRow = ctcLoss(logits, labels, { blank, frameLengths: frames }).dataSync();
    const g = grads[0]!.dataSync();
    let sum = 0;
    for (let r = 0; r < b; r++) {
      const n = frames[r]!;
      const ref = bruteForce(x.subarray(r * t * v, r * t * v + n * v), n, v, labels[r]!, blank);
      expect(Math.abs(perRow[r]! - ref.nll)).toBeLessThan(1e-5);
      sum += ref.nll;
      expect(maxRel(g.subarray(r * t * v, r * t * v + n * v), ref.grad)).toBeLessThan(1e-5);
      for (let i = n * v; i < t * v; i++) expect(g[r * t * v + i]).toBe(0); // padding frames
    }
    expect(Math.abs(value.dataSync()[0]! - sum)).toBeLessThan(1e-4);
    tf.dispose([logits, value, ...grads]);
  });

  it('scales the gradient by the upstream gradient of each row', () => {
    const [b, t, v] = [2, 5, 4];
    const logits = tf.tensor3d(values(b * t * v, 3), [b, t, v]);
    const labels = [[1, 3], [2]];
    const w = tf.tensor1d([0.25, -2]);
    const g = tf
      .grad((l: tf.Tensor) => tf.sum(tf.mul(ctcLoss(l as tf.Tensor3D, labels, { blank: 0 }), w)))(logits)
      .dataSync();
    const g1 = tf
      .grad((l: tf.Tensor) => tf.sum(ctcLoss(l as tf.Tensor3D, labels, { blank: 0 })))(logits)
      .dataSync();
    for (let i = 0; i < t * v; i++) {
      expect(g[i]).toBeCloseTo(0.25 * g1[i]!, 6);
      expect(g[t * v + i]).toBeCloseTo(-2 * g1[t * v + i]!, 6);
    }
    tf.dispose([logits, w]);
  });

  it('refuses labels that cannot fit the frames, or zeroes them with zeroInfinity', () => {
    expect(ctcMinFrames([1, 1, 2, 2])).toBe(6);
    const logits = tf.tensor3d(values(2 * 4 * 3, 5), [2, 4, 3]);
    expect(() => ctcLoss(logits, [[1, 1, 2], [1]], { blank: 0, frameLengths: [4, 4] })).not.toThrow();
    expect(() => ctcLoss(logits, [[1, 1, 2, 2], [1]], { blank: 0 })).toThrow(ShapeError);
    expect(() => ctcLoss(logits, [[0], [1]], { blank: 0 })).toThrow(/other than the blank/);
    expect(() => ctcLoss(logits, [[1]], { blank: 0 })).toThrow(/1 label rows for a batch of 2/);
    const g = tf
      .grad((l: tf.Tensor) => tf.sum(ctcLoss(l as tf.Tensor3D, [[1, 1, 2, 2], [1]], { blank: 0, zeroInfinity: true })))(logits)
      .dataSync();
    for (let i = 0; i < 12; i++) expect(g[i]).toBe(0);
    expect(g.subarray(12).some((a) => a !== 0)).toBe(true);
    expect(ctcLoss(logits, [[1, 1, 2, 2], [1]], { blank: 0, zeroInfinity: true }).dataSync()[0]).toBe(0);
    logits.dispose();
  });
});
