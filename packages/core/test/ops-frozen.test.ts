/**
 * Frozen weights cost no weight-gradient work (src/ops/tape.ts): inside
 * `withWatchedVariables(vars, fn)` a tf.Variable outside `vars` is a constant to the ops.
 * Gradients of everything still differentiated are bit-identical to the unfrozen run, and the
 * frozen weights' gradient products are skipped (counted with tf.profile). On wasm and cpu.
 *
 * Legend: B batch, T time, D width, F hidden width, V vocabulary. Prime sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { values } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { ZipperError } from '../src/errors.js';
import { tiedLogits } from '../src/ops/embedding.js';
import { linear } from '../src/ops/linear.js';
import { isFrozen, withWatchedVariables } from '../src/ops/tape.js';
import { mlp } from '../src/model/mlp.js';
import { rmsNorm } from '../src/model/norm.js';
import { Tower } from '../src/model/tower.js';

const rand = (shape: number[], seed: number): tf.Tensor =>
  tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );

/** Kernel names run by `fn` (synchronous work inside tf.profile). */
async function kernels(fn: () => tf.Tensor[]): Promise<string[]> {
  let out: tf.Tensor[] = [];
  const info = await tf.profile(() => {
    out = fn();
    return out;
  });
  tf.dispose(out);
  return info.kernels.map((k) => k.name);
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe('frozen weights: no dW work, identical input gradients', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('isFrozen: only a Variable outside an active set; sets nest and are restored; a Promise is refused', () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([2]));
    const plain = tf.zeros([2]);
    expect([isFrozen(a), isFrozen(b), isFrozen(plain)]).toEqual([false, false, false]);
    withWatchedVariables([a], () => {
      expect([isFrozen(a), isFrozen(b), isFrozen(plain)]).toEqual([false, true, false]);
      withWatchedVariables([b], () => expect([isFrozen(a), isFrozen(b)]).toEqual([true, false]));
      expect([isFrozen(a), isFrozen(b)]).toEqual([false, true]);
    });
    expect(() =>
      withWatchedVariables([a], () => {
        throw new Error('inner');
      }),
    ).toThrow('inner');
    expect(isFrozen(b)).toBe(false);
    expect(() => withWatchedVariables([a], () => Promise.resolve(1))).toThrow(ZipperError);
    expect(isFrozen(b)).toBe(false);
    tf.dispose([a, b, plain]);
  });

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: linear (with and without bias), tiedLogits, rmsNorm, mlp with frozen weights: dx bit-identical, dW products skipped`, async () => {
      await tf.setBackend(backend);
      const x = rand([2, 7, 11], 1);
      const w = tf.variable(rand([11, 13], 2));
      const bias = tf.variable(rand([13], 8));
      const up = tf.variable(rand([11, 17], 3));
      const down = tf.variable(rand([17, 11], 4));
      const scale = tf.variable(tf.add(1, tf.mul(0.1, rand([11], 5))) as tf.Tensor1D);
      const table = tf.variable(rand([13, 11], 6));
      const e = tf.variable(rand([2, 7, 11], 7)); // a trained input
      const cases: Array<[string, (x: tf.Tensor) => tf.Tensor, number]> = [
        // [name, f, BatchMatMuls saved by freezing]
        ['linear', (v) => linear(v, w as tf.Tensor as tf.Tensor2D), 1],
        ['linear with bias', (v) => linear(v, w as tf.Tensor as tf.Tensor2D, bias as tf.Tensor as tf.Tensor1D), 2],
        ['tiedLogits', (v) => tiedLogits(v, table as tf.Tensor as tf.Tensor2D), 1],
        ['rmsNorm', (v) => rmsNorm(v, scale as tf.Tensor as tf.Tensor1D, 1e-5), 1],
        ['mlp', (v) => mlp(v, up as tf.Tensor as tf.Tensor2D, down as tf.Tensor as tf.Tensor2D), 2],
      ];
      for (const [name, f, saved] of cases) {
        const r = tf.tidy(() => rand(f(x).shape, 99));
        const loss = () => tf.sum(tf.mul(f(tf.mul(x, e)), r)) as tf.Scalar;
        const gradE = () => {
          const g = tf.variableGrads(loss, [e]);
          g.value.dispose();
          return [g.grads[e.name]!];
        };
        const before = tf.memory().numTensors;
        const free = await kernels(gradE);
        const frozen = await kernels(() => withWatchedVariables([e], gradE));
        expect(tf.memory().numTensors, `${name}: leaked tensors`).toBe(before);
        expect(count(free, 'BatchMatMul') - count(frozen, 'BatchMatMul'), `${name}: BatchMatMuls saved`).toBe(saved);
        const a = tf.tidy(() => gradE()[0]!.dataSync().slice());
        const b = tf.tidy(() => withWatchedVariables([e], gradE)[0]!.dataSync().slice());
        expect(Array.from(b), `${name}: dE with frozen weights`).toEqual(Array.from(a));
        r.dispose();
      }
      tf.dispose([x, w, bias, up, down, scale, table, e]);
      await tf.setBackend('wasm');
    });

    it(`${backend}: a tower with frozen blocks: trained gradients bit-identical, 6 per block + 1 fewer BatchMatMuls`, async () => {
      await tf.setBackend(backend);
      const nLayers = 3;
      const tower = Tower.create({ vocabSize: 13, dModel: 12, nLayers, nHeads: 3, maxSeqLen: 16 }, { seed: 3 });
      const ids = tf.tensor2d(
        Array.from({ length: 2 * 11 }, (_, i) => (i * 7) % 13),
        [2, 11],
        'int32',
      );
      const r = rand([2, 11, 13], 9);
      const trained = [tower.params.get('emb.weight')!];
      const step = () => {
        const g = tf.variableGrads(() => tf.sum(tf.mul(tower.forward(ids).logits, r)), trained);
        g.value.dispose();
        return trained.map((v) => g.grads[v.name]!);
      };
      const before = tf.memory().numTensors;
      const free = await kernels(step);
      const frozen = await kernels(() => withWatchedVariables(trained, step));
      expect(tf.memory().numTensors).toBe(before);
      // Per block: dW of qkv, out, up, down and the column sum of ln1 and ln2's dscale; + norm.scale.
      expect(count(free, 'BatchMatMul') - count(frozen, 'BatchMatMul')).toBe(6 * nLayers + 1);
      const a = tf.tidy(() => step()[0]!.dataSync().slice());
      const b = tf.tidy(() => withWatchedVariables(trained, step)[0]!.dataSync().slice());
      expect(Array.from(b)).toEqual(Array.from(a));
      // Everything trained: the set changes nothing at all.
      const all = [...tower.params.values()];
      const full = () => {
        const g = tf.variableGrads(() => tf.sum(tf.mul(tower.forward(ids).logits, r)), all);
        g.value.dispose();
        return all.map((v) => g.grads[v.name]!);
      };
      expect(count(await kernels(() => withWatchedVariables(all, full)), 'BatchMatMul')).toBe(count(await kernels(full), 'BatchMatMul'));
      const fa = tf.tidy(() => full().map((t) => Array.from(t.dataSync())));
      const fb = tf.tidy(() => withWatchedVariables(all, full).map((t) => Array.from(t.dataSync())));
      expect(fb).toEqual(fa);
      tf.dispose([ids, r]);
      tower.dispose();
      await tf.setBackend('wasm');
    });
  }
});
