/**
 * The native GEMM (native/gemm.c via src/kernels/native.ts) behind the wasm backend's
 * BatchMatMul equals tfjs-backend-cpu's matMul: prime sizes (7, 11, 13), every transpose flag,
 * batch broadcast on either side and across ranks, M = 1..4 (the decode path), K = 1, sizes that
 * cross the packing blocks (k > 256, m > 144) and the register-tile edges, empty dimensions;
 * with every micro-kernel this CPU supports (avx512f, avx2+fma, generic) and with 1 and 2
 * threads (splitting by batch, rows and columns). Also: bad arguments to the addon throw
 * instead of touching memory, and no tensor leaks. Skipped, with the reason printed, where the
 * binary cannot load.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { values } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { loadNativeGemm, nativeInfo } from '../src/kernels/native.js';

interface Case {
  readonly a: number[];
  readonly b: number[];
  readonly ta: boolean;
  readonly tb: boolean;
}

const flags: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];
/** op(A) is m x k, op(B) is k x n; stored shapes follow the flags. */
function mat(lead: number[], rows: number, cols: number, t: boolean): number[] {
  return [...lead, ...(t ? [cols, rows] : [rows, cols])];
}
function product(leadA: number[], leadB: number[], m: number, k: number, n: number): Case[] {
  return flags.map(([ta, tb]) => ({ a: mat(leadA, m, k, ta), b: mat(leadB, k, n, tb), ta, tb }));
}

const CASES: Case[] = [
  ...product([], [], 7, 11, 13),
  ...product([], [], 13, 7, 11),
  ...product([], [], 1, 13, 11), // decode: one row
  ...product([], [], 2, 11, 37),
  ...product([], [], 3, 67, 7),
  ...product([], [], 4, 17, 70), // SMALL_M rows, columns past 4 vectors
  ...product([], [], 5, 17, 70), // first packed size
  ...product([], [], 13, 1, 11), // K = 1
  ...product([], [], 11, 13, 1), // N = 1
  ...product([], [], 37, 300, 97), // k crosses the KC = 256 block, edge tiles
  ...product([], [], 150, 29, 2053), // m crosses MC = 144, n crosses NC = 2048; split by columns
  ...product([3], [3], 7, 11, 13), // batched
  ...product([1], [5], 7, 11, 13), // A broadcast
  ...product([5], [1], 7, 11, 13), // B broadcast
  ...product([], [5], 7, 11, 13), // A rank 2 against a batch
  ...product([5], [], 1, 11, 13), // decode-like: B rank 2, M = 1
  ...product([2, 3], [2, 3], 13, 7, 11), // rank 4
  ...product([1, 4], [1, 4], 1, 64, 13), // decode attention scores / values
  ...product([32], [32], 128, 64, 128), // attention batch, split by batch over threads
  ...product([], [], 517, 131, 67), // split by rows over threads
];

/** Shapes where one dimension is 0 (TF.js accepts them on cpu). */
const EMPTY: Case[] = [
  ...product([], [], 0, 11, 13),
  ...product([], [], 7, 0, 13),
  ...product([], [], 7, 11, 0),
  ...product([0], [0], 7, 11, 13),
];

function run(c: Case, seed: number): Float32Array {
  const out = tf.tidy(() => {
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    const a = tf.tensor(values(size(c.a), seed), c.a);
    const b = tf.tensor(values(size(c.b), seed + 1), c.b);
    return tf.matMul(a, b, c.ta, c.tb);
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

const name = (c: Case) => `[${c.a}]${c.ta ? '^T' : ''} @ [${c.b}]${c.tb ? '^T' : ''}`;
const native = loadNativeGemm();
if (!native) console.log(`native-gemm: skipped: ${nativeInfo().reason}`);

describe.skipIf(!native)('native GEMM BatchMatMul on wasm', () => {
  const refs = new Map<Case, { values: Float32Array; shape: number[] }>();
  const best = native?.isa() ?? '';
  const isas = ['avx512f', 'avx2+fma', 'generic'].filter((i) =>
    best === 'avx512f' ? true : best === 'avx2+fma' ? i !== 'avx512f' : i === 'generic',
  );

  beforeAll(async () => {
    const info = await initBackend({ backend: 'wasm', native: true });
    expect(info.native.used).toBe(true);
    await tf.setBackend('cpu');
    [...CASES, ...EMPTY].forEach((c, i) => {
      const values = run(c, 11 * i + 1);
      const shape = tf.tidy(() => tf.matMul(tf.zeros(c.a), tf.zeros(c.b), c.ta, c.tb).shape);
      refs.set(c, { values, shape });
    });
    await tf.setBackend('wasm');
  });
  afterAll(() => {
    native!.setIsa(best);
    native!.setThreads(1);
  });

  for (const isa of isas) {
    for (const threads of [1, 2]) {
      it(`equals the cpu backend (${isa}, ${threads} thread${threads > 1 ? 's' : ''})`, () => {
        expect(native!.setIsa(isa)).toBe(true);
        expect(native!.setThreads(threads)).toBe(threads);
        const before = tf.memory().numTensors;
        const gemm = native!.gemm;
        let calls = 0;
        native!.gemm = (...args: Parameters<typeof gemm>) => {
          calls++;
          gemm(...args);
        };
        try {
          CASES.forEach((c, i) => {
            const got = run(c, 11 * i + 1);
            const ref = refs.get(c)!.values;
            expect(got.length, name(c)).toBe(ref.length);
            let worst = 0;
            for (let j = 0; j < got.length; j++) worst = Math.max(worst, Math.abs(got[j]! - ref[j]!) / Math.max(1, Math.abs(ref[j]!)));
            expect(worst, name(c)).toBeLessThan(2e-5);
          });
        } finally {
          native!.gemm = gemm;
        }
        expect(calls, 'every product ran in the native GEMM').toBe(CASES.length);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it("gives the cpu backend's shapes and values (zeros for K = 0) when a dimension is empty", () => {
    EMPTY.forEach((c, i) => {
      const ref = refs.get(c)!;
      const out = tf.tidy(() =>
        tf.matMul(
          tf.tensor(
            values(
              c.a.reduce((x, y) => x * y, 1),
              11 * (CASES.length + i) + 1,
            ),
            c.a,
          ),
          tf.tensor(
            values(
              c.b.reduce((x, y) => x * y, 1),
              7,
            ),
            c.b,
          ),
          c.ta,
          c.tb,
        ),
      );
      expect(out.shape, name(c)).toEqual(ref.shape);
      expect(Array.from(out.dataSync()), name(c)).toEqual(Array.from(ref.values).map(() => 0));
      out.dispose();
    });
  });

  it('rejects operands shorter than their shapes, and non-Float32Array operands, without computing', () => {
    const a = new Float32Array(6),
      b = new Float32Array(6),
      c = new Float32Array(4);
    expect(() => native!.gemm(a, b, c, 1, 2, 2, 3, 0, 0, 0, 0)).not.toThrow();
    expect(() => native!.gemm(a, b, new Float32Array(3), 1, 2, 2, 3, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => native!.gemm(a, b, c, 2, 2, 2, 3, 0, 0, 6, 6)).toThrow(RangeError);
    expect(() => native!.gemm(a, b, c, 1, 2, 2, 4, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => native!.gemm(a, new Float64Array(6) as unknown as Float32Array, c, 1, 2, 2, 3, 0, 0, 0, 0)).toThrow(TypeError);
    expect(() => native!.gemm(a, b, c, 1, -2, 2, 3, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => (native!.gemm as (...x: unknown[]) => void)(a, b, c, 1, 2, 2, 3)).toThrow(/expected 11 arguments/);
    // (batch - 1) * stride and batch * m * n would wrap around in 64 bits
    expect(() => native!.gemm(a, b, c, 2 ** 40, 2 ** 40, 2 ** 40, 1, 0, 0, 2 ** 40, 2 ** 40)).toThrow(RangeError);
    expect(() => native!.setThreads(9)).toThrow(RangeError);
  });

  it.each(isas)('adamw (%s): one update of n elements, a scalar loop past the last 8; bad arguments rejected without computing', (isa) => {
    expect(native!.setIsa(isa)).toBe(true);
    const n = 19; // two AVX2 blocks and 3 left for the scalar tail (generic: all 19 scalar)
    const f = Math.fround;
    const arr = (k: number) => Float32Array.from({ length: n }, (_, i) => f(Math.sin(i * 1.7 + k) * (k + 1)));
    const [p, g, m] = [arr(1), arr(2), arr(3)];
    const v = Float32Array.from(arr(4), Math.abs);
    const sc = Float32Array.of(0.1, 0.999, f(0.001), f(0.03), f(1e-8), f(-0.002), f(0.9999), 1);
    const out = [new Float32Array(n), new Float32Array(n), new Float32Array(n)] as const;
    native!.adamw(p, g, m, v, ...out, sc);
    // the same float32 operations in JS (Math.fround after each), in the kernel's order
    for (let i = 0; i < n; i++) {
      const m1 = f(m[i]! + f(f(g[i]! - m[i]!) * sc[0]!));
      const v1 = f(f(v[i]! * sc[1]!) + f(f(g[i]! * g[i]!) * sc[2]!));
      const den = f(f(f(Math.sqrt(v1)) / sc[3]!) + sc[4]!);
      expect([out[0][i], out[1][i], out[2][i]], String(i)).toEqual([f(f(p[i]! * sc[6]!) + f(f(m1 / den) * sc[5]!)), m1, v1]);
    }
    // gscale: the gradient scaled first (the clipping's coefficient), one float32 multiply
    const scaled = Float32Array.of(...sc.subarray(0, 7), f(0.37));
    native!.adamw(p, g, m, v, ...out, scaled);
    for (let i = 0; i < n; i++) {
      const gi = f(g[i]! * scaled[7]!);
      const m1 = f(m[i]! + f(f(gi - m[i]!) * sc[0]!));
      const v1 = f(f(v[i]! * sc[1]!) + f(f(gi * gi) * sc[2]!));
      const den = f(f(f(Math.sqrt(v1)) / sc[3]!) + sc[4]!);
      expect([out[0][i], out[1][i], out[2][i]], `scaled ${i}`).toEqual([f(f(p[i]! * sc[6]!) + f(f(m1 / den) * sc[5]!)), m1, v1]);
    }
    // keep NaN: no weight decay
    const noDecay = Float32Array.of(...sc.subarray(0, 6), NaN, 1);
    native!.adamw(p, g, m, v, ...out, noDecay);
    const m1 = f(m[0]! + f(f(g[0]! - m[0]!) * sc[0]!));
    const v1 = f(f(v[0]! * sc[1]!) + f(f(g[0]! * g[0]!) * sc[2]!));
    expect(out[0][0]).toBe(f(p[0]! + f(f(m1 / f(f(f(Math.sqrt(v1)) / sc[3]!) + sc[4]!)) * sc[5]!)));
    const before = Array.from(out[0]);
    expect(() => native!.adamw(p, g, m, new Float32Array(n - 1), ...out, sc)).toThrow(RangeError);
    expect(() => native!.adamw(p, g, m, v, ...out, sc.subarray(0, 7))).toThrow(RangeError);
    expect(() => native!.adamw(p, g, m, new Float64Array(n) as unknown as Float32Array, ...out, sc)).toThrow(TypeError);
    expect(() => (native!.adamw as (...a: unknown[]) => void)(p, g, m, v, ...out)).toThrow(/expected 8 arguments/);
    expect(Array.from(out[0])).toEqual(before);
  });

  it.each(isas)('few rows (%s): each element is the ordered chain over k of A(i, p) * B[p, j], vector columns and tail alike', (isa) => {
    expect(native!.setIsa(isa)).toBe(true);
    const f = Math.fround;
    const fused = isa !== 'generic'; // FMA: one rounding per step; SSE2: the product rounded, then the sum
    for (const m of [1, 2, 4])
      for (const [k, n] of [
        [13, 514],
        [6, 1030],
        [5, 3],
        [9, 600],
        [7, 17],
      ] as const) {
        const a = Float32Array.from({ length: m * k }, (_, i) => f(Math.sin(i * 1.3) * 2));
        const b = Float32Array.from({ length: k * n }, (_, i) => f(Math.cos(i * 0.7) * 3));
        const c = new Float32Array(m * n);
        native!.gemm(a, b, c, 1, m, n, k, 0, 0, 0, 0);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s = f(s + (fused ? a[i * k + p]! * b[p * n + j]! : f(a[i * k + p]! * b[p * n + j]!)));
            if (c[i * n + j] !== s)
              throw new Error(`${isa} m ${m} k ${k} n ${n}: C[${i}, ${j}] = ${c[i * n + j]}, the ordered chain gives ${s}`);
          }
      }
  });

  it.each(isas)('sumSquares (%s): the double-precision sum in lane order (element i in lane i %% 8), exactly', (isa) => {
    expect(native!.setIsa(isa)).toBe(true);
    for (const n of [0, 1, 7, 8, 19, 1000]) {
      const x = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 0.91) * 10 ** ((i % 7) - 3)));
      const lanes = new Float64Array(8);
      for (let i = 0; i < n; i++) lanes[i % 8]! += x[i]! * x[i]!; // a float32 squared is exact in double
      let want = 0;
      for (const l of lanes) want += l;
      expect(native!.sumSquares(x), `n = ${n}`).toBe(want);
    }
    expect(native!.sumSquares(Float32Array.of(1, Number.NaN, 2))).toBeNaN();
    expect(native!.sumSquares(Float32Array.of(1, Number.POSITIVE_INFINITY))).toBe(Number.POSITIVE_INFINITY);
    expect(() => native!.sumSquares(new Float64Array(3) as unknown as Float32Array)).toThrow(TypeError);
    expect(() => (native!.sumSquares as (...a: unknown[]) => number)()).toThrow(/expected 1 argument/);
  });

  it('is turned off by initBackend({ native: false }) and back on, computing the same', async () => {
    const c = CASES[1]!;
    const on = run(c, 5);
    const off = await initBackend({ native: false });
    expect(off.native.used).toBe(false);
    expect(off.native.reason).toMatch(/ZIPPER_NATIVE=0/);
    const wasm = run(c, 5);
    expect((await initBackend({ native: true })).native.used).toBe(true);
    on.forEach((v, j) => expect(Math.abs(v - wasm[j]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
  });
});
