/**
 * The wasm kernels of src/kernels/ against the cpu backend's results:
 * - `UnsortedSegmentSum`: float32 and int32, 1-D and 2-D segment ids, and `tf.gather`'s
 *   built-in gradient (which needs it).
 * - `BatchMatMul` (our SIMD kernel for batched products, explicit transposes for 2-D flags):
 *   every flag combination, prime sizes that leave remainders in the 4x8 micro-kernel tile,
 *   rank 4, batch broadcasting, and a single row (decode).
 * - `Slice` (contiguous-run copies): ranks 1-5, whole and partial axes, int32, empty.
 * - `Transpose` (blocked 2-D, last-axis runs): 2-D and batched last-two swaps with sizes off
 *   the 8x8 tile, heads <-> time permutations with short and long runs, int32, a fallback perm.
 * - `GatherV2` (run copies): long and short runs, axis 0 and inner axes, 2-D ids, int32, no ids,
 *   an out-of-range id.
 * - `ZipperRmsNorm` (fused RMSNorm forward): rmsNorm on wasm equals the cpu ops within 1e-6.
 * - `ZipperGelu`, `ZipperRope` (decode rows): one kernel each; GELU within 1e-6 of the cpu ops,
 *   rope bit-identical; large inputs keep the ops.
 * - `Identity` (shared data): a clone keeps its values after the original is disposed or a
 *   variable it was cloned from is reassigned, and disposing both leaks nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/backend.js';
import { rmsNorm } from '../src/model/norm.js';
import { geluTanh } from '../src/model/mlp.js';
import { applyRope } from '../src/model/rope.js';

function on(backend: string, fn: () => tf.Tensor): { values: number[]; shape: number[] } {
  void tf.setBackend(backend);
  const t = tf.tidy(fn);
  const out = { values: Array.from(t.dataSync()), shape: t.shape };
  t.dispose();
  return out;
}

const xs = Array.from({ length: 7 * 11 }, (_, i) => Math.sin(i * 1.7) * 3);
const ids7 = [4, 0, 12, 4, 4, 9, 0];

describe('wasm UnsortedSegmentSum', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('is registered for wasm', () => {
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  const cases: Array<[string, () => tf.Tensor]> = [
    ['float32 x [7, 11], ids [7], 13 segments', () => tf.unsortedSegmentSum(tf.tensor2d(xs, [7, 11]), tf.tensor1d(ids7, 'int32'), 13)],
    ['int32 x [7, 11]', () => tf.unsortedSegmentSum(tf.tensor2d(xs.map(Math.round), [7, 11], 'int32'), tf.tensor1d(ids7, 'int32'), 13)],
    [
      '1-D x [77], ids [77], 5 segments',
      () =>
        tf.unsortedSegmentSum(
          tf.tensor1d(xs),
          tf.tensor1d(
            xs.map((_, i) => (i * 7) % 5),
            'int32',
          ),
          5,
        ),
    ],
    [
      'gather gradient, table [13, 11], ids [3, 7]',
      () => {
        const ids = tf.tensor2d([...ids7, ...ids7.map((i) => 12 - i), 1, 2, 3, 1, 2, 3, 11], [3, 7], 'int32');
        const w = tf.tensor2d(
          Array.from({ length: 21 * 11 }, (_, i) => Math.cos(i)),
          [21, 11],
        );
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.reshape(tf.gather(t, ids), [21, 11]), w)))(
          tf.tensor2d(xs.concat(xs.slice(0, 66)), [13, 11]),
        );
      },
    ],
  ];
  for (const [name, fn] of cases) {
    it(`${name} equals the cpu backend's result`, () => {
      const ref = on('cpu', fn);
      const got = on('wasm', fn);
      expect(got.shape).toEqual(ref.shape);
      got.values.forEach((v, i) => expect(v).toBeCloseTo(ref.values[i]!, 4));
    });
  }

  const mm: Array<[string, number[], number[], boolean, boolean]> = [
    ['batched [3, 7, 11] @ [3, 11, 13]', [3, 7, 11], [3, 11, 13], false, false],
    ['batched transposeA [3, 11, 7]^T @ [3, 11, 13]', [3, 11, 7], [3, 11, 13], true, false],
    ['batched transposeB [3, 7, 11] @ [3, 13, 11]^T', [3, 7, 11], [3, 13, 11], false, true],
    ['batched both flags [3, 11, 7]^T @ [3, 13, 11]^T', [3, 11, 7], [3, 13, 11], true, true],
    ['rank 4 [2, 3, 13, 5] @ [2, 3, 5, 17]', [2, 3, 13, 5], [2, 3, 5, 17], false, false],
    ['broadcast [5, 7, 11] @ [11, 13]', [5, 7, 11], [11, 13], false, false],
    ['broadcast [1, 7, 11] @ [5, 13, 11]^T', [1, 7, 11], [5, 13, 11], false, true],
    ['single row [4, 1, 16] @ [4, 16, 19]', [4, 1, 16], [4, 16, 19], false, false],
    ['2-D transposeA [11, 7]^T @ [11, 13]', [11, 7], [11, 13], true, false],
    ['2-D transposeB [7, 11] @ [13, 11]^T', [7, 11], [13, 11], false, true],
    ['2-D one row transposeB [1, 11] @ [13, 11]^T (decode logits)', [1, 11], [13, 11], false, true],
    ['2-D three rows transposeB [3, 16] @ [17, 16]^T', [3, 16], [17, 16], false, true],
    ['batched one row transposeB [5, 1, 11] @ [5, 13, 11]^T', [5, 1, 11], [5, 13, 11], false, true],
  ];
  const fill = (shape: number[], seed: number) =>
    tf.tensor(
      Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i * 0.37 + seed)),
      shape,
    );
  for (const [name, sa, sb, ta, tb] of mm) {
    it(`BatchMatMul ${name} equals the cpu backend's result`, () => {
      const fn = () => tf.matMul(fill(sa, 1), fill(sb, 2), ta, tb);
      const ref = on('cpu', fn);
      const got = on('wasm', fn);
      expect(got.shape).toEqual(ref.shape);
      got.values.forEach((v, i) => expect(v).toBeCloseTo(ref.values[i]!, 4));
    });
  }

  const slices: Array<[string, number[], number[], number[], 'float32' | 'int32']> = [
    ['rank 1', [13], [3], [7], 'float32'],
    ['rank 3 last axis (q of a fused qkv)', [2, 7, 33], [0, 0, 11], [2, 7, 11], 'float32'],
    ['rank 3 middle axis', [3, 11, 5], [1, 2, 0], [2, 7, 5], 'float32'],
    ['rank 4 all axes partial', [3, 5, 7, 11], [1, 1, 2, 3], [2, 3, 4, 5], 'float32'],
    ['rank 4 whole input', [2, 3, 5, 7], [0, 0, 0, 0], [2, 3, 5, 7], 'float32'],
    ['rank 5 int32', [2, 3, 5, 7, 2], [1, 0, 2, 1, 1], [1, 3, 3, 5, 1], 'int32'],
    ['empty', [5, 7], [2, 3], [0, 4], 'float32'],
  ];
  for (const [name, shape, begin, size, dtype] of slices) {
    it(`Slice ${name} equals the cpu backend's result`, () => {
      const fn = () =>
        tf.slice(
          tf.tensor(
            Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => i * 3 - 7),
            shape,
            dtype,
          ),
          begin,
          size,
        );
      const ref = on('cpu', fn);
      const got = on('wasm', fn);
      expect(got.shape).toEqual(ref.shape);
      expect(got.values).toEqual(ref.values);
    });
  }

  it('Identity: clones share data safely (dispose, variable assign) and leak nothing', () => {
    void tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    const x = tf.tensor1d([1, 2, 3, 5, 7]);
    const c = tf.clone(x);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3, 5, 7]);
    const init = tf.tensor1d([11, 13]);
    const next = tf.tensor1d([17, 19]);
    const v = tf.variable(init);
    const vc = tf.clone(v);
    v.assign(next);
    expect(Array.from(vc.dataSync())).toEqual([11, 13]);
    expect(Array.from(v.dataSync())).toEqual([17, 19]);
    tf.dispose([c, v, vc, init, next]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
  });

  const perms: Array<[string, number[], number[], 'float32' | 'int32']> = [
    ['2-D [13, 11]', [13, 11], [1, 0], 'float32'],
    ['2-D [64, 32]', [64, 32], [1, 0], 'float32'],
    ['batched last two [3, 7, 17]', [3, 7, 17], [0, 2, 1], 'float32'],
    ['heads <-> time [2, 7, 3, 32] (long runs)', [2, 7, 3, 32], [0, 2, 1, 3], 'float32'],
    ['heads <-> time [2, 7, 3, 5] (short runs) int32', [2, 7, 3, 5], [0, 2, 1, 3], 'int32'],
    ['rank 5 [2, 3, 3, 5, 7] -> [2, 3, 5, 3, 7] keep last', [2, 3, 3, 5, 7], [0, 1, 3, 2, 4], 'float32'],
    ['fallback [3, 5, 7] -> [2, 0, 1]', [3, 5, 7], [2, 0, 1], 'float32'],
  ];
  for (const [name, shape, perm, dtype] of perms) {
    it(`Transpose ${name} equals the cpu backend's result`, () => {
      const fn = () =>
        tf.transpose(
          tf.tensor(
            Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => i * 5 - 3),
            shape,
            dtype,
          ),
          perm,
        );
      const ref = on('cpu', fn);
      const got = on('wasm', fn);
      expect(got.shape).toEqual(ref.shape);
      expect(got.values).toEqual(ref.values);
    });
  }
});

describe('wasm GatherV2 (run copies)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  const cases: Array<[string, number[], number[], number[], number, 'float32' | 'int32']> = [
    ['table rows, long runs [13, 32] x 11 ids', [13, 32], [11], [3, 0, 12, 3, 7, 7, 1, 12, 0, 5, 2], 0, 'float32'],
    ['short runs [7, 5], 2-D ids [2, 3]', [7, 5], [2, 3], [6, 0, 2, 2, 5, 1], 0, 'float32'],
    ['axis 1 of [3, 11, 17]', [3, 11, 17], [4], [10, 0, 3, 3], 1, 'float32'],
    ['last axis of [5, 7] (run 1) int32', [5, 7], [3], [6, 2, 0], 1, 'int32'],
    ['no ids', [7, 5], [0], [], 0, 'float32'],
  ];
  for (const [name, shape, idShape, ids, axis, dtype] of cases) {
    it(`GatherV2 ${name} equals the cpu backend's result`, () => {
      const fn = () =>
        tf.gather(
          tf.tensor(
            Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => i * 3 - 11),
            shape,
            dtype,
          ),
          tf.tensor(ids, idShape, 'int32'),
          axis,
        );
      const ref = on('cpu', fn);
      const got = on('wasm', fn);
      expect(got.shape).toEqual(ref.shape);
      expect(got.values).toEqual(ref.values);
    });
  }
  it('GatherV2 rejects an out-of-range index with a ShapeError naming it, and leaks nothing', () => {
    void tf.setBackend('wasm');
    const x = tf.ones([7, 5]);
    const ids = tf.tensor1d([1, 7], 'int32');
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, ids)).toThrow(/index 7 at position 1 is outside \[0, 7\)/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    ids.dispose();
  });
});

describe('wasm ZipperRmsNorm (fused RMSNorm forward)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  for (const shape of [
    [3, 7, 13],
    [1, 1, 256],
    [11, 5],
  ]) {
    it(`rmsNorm [${shape}] on wasm (one kernel) equals the cpu backend's ops to float32 rounding`, () => {
      const d = shape[shape.length - 1]!;
      const n = shape.reduce((a, b) => a * b, 1);
      const fn = () =>
        rmsNorm(
          tf.tensor(
            Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 5))),
            shape,
          ),
          tf.tensor1d(Array.from({ length: d }, (_, i) => 0.5 + Math.cos(i))),
          1e-6,
        );
      const ref = on('cpu', fn);
      void tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const got = on('wasm', fn);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.shape).toEqual(ref.shape);
      let worst = 0;
      for (let i = 0; i < n; i++)
        worst = Math.max(worst, Math.abs(got.values[i]! - ref.values[i]!) / Math.max(Math.abs(ref.values[i]!), 1e-3));
      expect(worst).toBeLessThan(1e-6);
    });
  }
  it('is the one kernel rmsNorm runs on wasm (two outputs) and rmsNorm rejects a mismatched scale', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([2, 3, 4]);
    const g = tf.ones([4]) as tf.Tensor1D;
    const prof = await tf.profile(() => rmsNorm(x, g, 1e-6));
    expect(prof.kernelNames).toEqual(['ZipperRmsNorm']);
    const [y, r] = tf.engine().runKernel('ZipperRmsNorm', { x, scale: g }, { eps: 0 }) as unknown as [tf.Tensor, tf.Tensor];
    expect(r.shape).toEqual([2, 3, 1]);
    expect(Array.from(y.dataSync())).toEqual(new Array(24).fill(1));
    const g5 = tf.ones([5]) as tf.Tensor1D;
    expect(() => rmsNorm(x, g5, 1e-6)).toThrow(/last axis must equal scale's width 5, got x \[2,3,4\]/);
    tf.dispose([x, g, y, r, g5]);
  });
});

describe('wasm ZipperGelu / ZipperRope (decode-size element-wise kernels)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });
  const values = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.61) * (1 + (i % 7)));
  it('geluTanh of a [1, 1, 13] row on wasm is one kernel and equals the cpu ops within 1e-6', async () => {
    const fn = () => geluTanh(tf.tensor3d(values(13), [1, 1, 13]));
    const ref = on('cpu', fn);
    await tf.setBackend('wasm');
    expect((await tf.profile(() => fn())).kernelNames).toEqual(['ZipperGelu']);
    const got = on('wasm', fn);
    for (let i = 0; i < 13; i++)
      expect(Math.abs(got.values[i]! - ref.values[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref.values[i]!)));
  });
  it('rope of [2, 3, 5, 8] at start 7 on wasm is one kernel and bit-identical to the cpu ops', async () => {
    const fn = () => applyRope(tf.tensor4d(values(2 * 5 * 3 * 8), [2, 5, 3, 8]), 7, 10000);
    const ref = on('cpu', fn);
    await tf.setBackend('wasm');
    const kernels = (await tf.profile(() => fn())).kernelNames;
    expect(kernels.filter((k) => k.startsWith('Zipper'))).toEqual(['ZipperRope']);
    const got = on('wasm', fn);
    expect(got.shape).toEqual(ref.shape);
    expect(got.values).toEqual(ref.values);
  });
  it('large inputs keep the wasm ops (no Zipper kernel)', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([1, 32, 1024]);
    const names = (await tf.profile(() => geluTanh(x))).kernelNames;
    expect(names).not.toContain('ZipperGelu');
    x.dispose();
  });
});
