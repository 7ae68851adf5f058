/**
 * Parity of the fast ops (src/ops/) with the plain TF.js formulation (matMul with transpose
 * flags, gather, masked softmax) computed on the cpu backend: values and gradients, prime
 * shapes, no leaked tensors. Our ops run on wasm (the embedded default) and on cpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { values } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { causalAttention } from '../src/ops/attention.js';
import { embedding, tiedLogits } from '../src/ops/embedding.js';
import { linear } from '../src/ops/linear.js';

type Arr = Float32Array | Int32Array | Uint8Array;

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/** Runs `fn` on `backend` and returns the values of its outputs (all tensors disposed). */
function on(backend: string, fn: () => tf.Tensor[]): Arr[] {
  void tf.setBackend(backend);
  return tf
    .tidy(() => fn())
    .map((t) => {
      const d = t.dataSync().slice();
      t.dispose();
      return d;
    });
}

/**
 * Value and gradients of sum(f(inputs) * r) for a fixed random r. Disposes its own inputs (and
 * `owned`), so only the returned tensors remain: the leak check counts nothing else.
 */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: () => tf.Tensor[], owned: tf.Tensor[] = []): tf.Tensor[] {
  const xs = inputs();
  const y = f(...xs);
  const r = rand(y.shape, 99);
  const g = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)));
  const out = [y, ...g(xs)];
  tf.dispose([...xs, r, ...owned]);
  return out;
}

function expectClose(a: Arr[], b: Arr[], tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    expect(x.length).toBe(y.length);
    let worst = 0;
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / Math.max(1, Math.abs(y[j]!)));
    expect(worst, `output ${i}`).toBeLessThan(tol);
  });
}

/** Our op on wasm and cpu against the reference formulation on cpu. */
function checkParity(ours: () => tf.Tensor[], reference: () => tf.Tensor[]): void {
  const ref = on('cpu', reference);
  expectClose(on('wasm', ours), ref);
  expectClose(on('cpu', ours), ref);
  void tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  tf.dispose(ours());
  expect(tf.memory().numTensors).toBe(before);
}

function referenceAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, offset: number): tf.Tensor {
  const [t, s, kd] = [q.shape[2]!, k.shape[2]!, q.shape[3]!];
  const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(kd)); // [B, H, T, S]
  const allowed = tf.tensor2d(
    Array.from({ length: t * s }, (_, i) => (i % s <= Math.floor(i / s) + offset ? 1 : 0)),
    [t, s],
    'bool',
  );
  const masked = tf.where(tf.broadcastTo(allowed, scores.shape), scores, tf.fill(scores.shape, -Infinity));
  return tf.matMul(tf.softmax(masked, -1), v);
}

describe('fast ops match the plain TF.js formulation', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('linear: rank-3 x [2, 7, 11] @ w [11, 13], value and both gradients', () => {
    const inputs = () => [rand([2, 7, 11], 1), rand([11, 13], 2)];
    checkParity(
      () => valueAndGrads((x, w) => linear(x!, w as tf.Tensor2D), inputs),
      () => valueAndGrads((x, w) => tf.reshape(tf.matMul(tf.reshape(x!, [-1, 11]), w!), [2, 7, 13]), inputs),
    );
  });

  it('linear: x [1, 7, 11], decode x [1, 1, 11] and [1, 1, 3, 11] (direct matMul path)', () => {
    for (const shape of [
      [1, 7, 11],
      [1, 1, 11],
      [1, 1, 3, 11],
    ]) {
      const inputs = () => [rand(shape, 11), rand([11, 13], 12)];
      checkParity(
        () => valueAndGrads((x, w) => linear(x!, w as tf.Tensor2D), inputs),
        () => valueAndGrads((x, w) => tf.reshape(tf.matMul(tf.reshape(x!, [-1, 11]), w!), [...shape.slice(0, -1), 13]), inputs),
      );
    }
  });

  it('linear with bias: x [2, 7, 11] @ w [11, 13] + b [13], value and all three gradients; a bad bias is a ShapeError', () => {
    const inputs = () => [rand([2, 7, 11], 21), rand([11, 13], 22), rand([13], 23)];
    checkParity(
      () => valueAndGrads((x, w, b) => linear(x!, w as tf.Tensor2D, b as tf.Tensor1D), inputs),
      () => valueAndGrads((x, w, b) => tf.add(tf.reshape(tf.matMul(tf.reshape(x!, [-1, 11]), w!), [2, 7, 13]), b!), inputs),
    );
    tf.tidy(() => {
      expect(() => linear(tf.zeros([2, 11]), tf.zeros([11, 13]) as tf.Tensor2D, tf.zeros([11]) as tf.Tensor1D)).toThrow(
        /bias must be \[out=13\]/,
      );
    });
  });

  it('embedding: ids [3, 7] with repeats into table [13, 11], value and table gradient', () => {
    const ids = [0, 3, 3, 12, 5, 0, 7, 1, 1, 1, 11, 2, 9, 4, 6, 8, 10, 12, 12, 3, 0];
    const run = (f: (i: tf.Tensor2D, t: tf.Tensor2D) => tf.Tensor) => () => {
      const idT = tf.tensor2d(ids, [3, 7], 'int32');
      return valueAndGrads(
        (t) => f(idT, t as tf.Tensor2D),
        () => [rand([13, 11], 3)],
        [idT],
      );
    };
    checkParity(
      run(embedding),
      run((i, t) => tf.reshape(tf.gather(t, tf.reshape(i, [-1])), [3, 7, 11])),
    );
  });

  it('tiedLogits: x [2, 7, 11] @ table [13, 11]^T, value and both gradients', () => {
    const inputs = () => [rand([2, 7, 11], 4), rand([13, 11], 5)];
    checkParity(
      () => valueAndGrads((x, t) => tiedLogits(x!, t as tf.Tensor2D), inputs),
      () => valueAndGrads((x, t) => tf.reshape(tf.matMul(tf.reshape(x!, [-1, 11]), t!, false, true), [2, 7, 13]), inputs),
    );
  });

  const cases: Array<[string, number, number, number | undefined]> = [
    ['square causal, T = S = 7', 7, 7, undefined],
    ['prefill after a cache, T = 3 of S = 11', 3, 11, undefined],
    ['explicit causalOffset 2, T = 5, S = 11', 5, 11, 2],
    ['decode, T = 1 of S = 13', 1, 13, undefined],
    ['single query with a mask, T = 1, S = 13, offset 4', 1, 13, 4],
  ];
  for (const [name, t, s, offset] of cases) {
    it(`causalAttention ${name}: value and q, k, v gradients`, () => {
      const inputs = () => [rand([2, 3, t, 5], 6), rand([2, 3, s, 5], 7), rand([2, 3, s, 5], 8)];
      checkParity(
        () =>
          valueAndGrads(
            (q, k, v) =>
              causalAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, offset === undefined ? {} : { causalOffset: offset }),
            inputs,
          ),
        () => valueAndGrads((q, k, v) => referenceAttention(q!, k!, v!, offset ?? s - t), inputs),
      );
    });
  }

  it('causalAttention rejects mismatched k/v and a negative offset', () => {
    tf.tidy(() => {
      const q = tf.zeros([1, 2, 3, 5]) as tf.Tensor4D;
      expect(() => causalAttention(q, tf.zeros([1, 2, 4, 5]) as tf.Tensor4D, tf.zeros([1, 2, 4, 7]) as tf.Tensor4D)).toThrow(/k and v/);
      expect(() => causalAttention(q, q, q, { causalOffset: -1 })).toThrow(/causalOffset/);
    });
  });
});
