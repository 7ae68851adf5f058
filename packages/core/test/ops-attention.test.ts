/**
 * `attention` (src/ops/attention.ts) with cross shapes and masks against a plain TF.js reference
 * (matMul, -Infinity where masked, softmax, rows with no visible key set to 0) on the cpu
 * backend: values and the gradients of q, k, v, on wasm (the embedded default) and cpu.
 * Plus the guarantees the reference cannot show: fully masked rows give exactly 0 and exactly 0
 * gradient, padded keys never change anything, no NaN, no leaked tensors, typed errors.
 *
 * Legend: B batch, H heads, T queries, S keys, K head width. Sizes are primes: B 2, H 3, T 7,
 * S 11, K 13 (a swapped axis cannot pass).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { values } from './helpers.js';
import { initBackend } from '../src/backend.js';
import { ShapeError } from '../src/errors.js';
import { attention, type AttentionOptions, causalAttention } from '../src/ops/attention.js';
import { prepareAttentionMask } from '../src/ops/attention-mask.js';

const [B, H, T, S, K] = [2, 3, 7, 11, 13];
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

const qkv = (): tf.Tensor4D[] => [rand([B, H, T, K], 1), rand([B, H, S, K], 2), rand([B, H, S, K], 3)] as tf.Tensor4D[];

/** Options built fresh on the current backend (masks are tensors). */
type MakeOptions = () => AttentionOptions;

/** The plain formulation: -Infinity where masked, softmax, rows with no visible key -> 0. */
function reference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, o: AttentionOptions): tf.Tensor {
  const [b, h, t, kd] = q.shape as number[];
  const s = k.shape[2]!;
  let scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(kd!)); // [B, H, T, S]
  let visible: tf.Tensor = tf.ones(scores.shape, 'bool');
  const and = (m: tf.Tensor) => (visible = tf.logicalAnd(visible, tf.broadcastTo(m, [b!, h!, t!, s])));
  if (o.causal) {
    const off = o.causalOffset ?? s - t!;
    and(
      tf.tensor2d(
        Array.from({ length: t! * s }, (_, i) => (i % s <= Math.floor(i / s) + off ? 1 : 0)),
        [t!, s],
        'bool',
      ),
    );
  }
  if (o.keyPadding) and(tf.reshape(tf.notEqual(o.keyPadding, 0), [b!, 1, 1, s]));
  if (o.mask) {
    const m = o.mask.rank === 3 ? tf.expandDims(o.mask, 1) : o.mask;
    if (m.dtype === 'bool') and(m);
    else {
      and(tf.greater(m, -Infinity));
      scores = tf.add(scores, tf.where(tf.greater(m, -Infinity), m, tf.zerosLike(m)));
    }
  }
  const rowAny = tf.any(visible, -1, true); // [B, H, T, 1]
  const masked = tf.where(visible, scores, tf.fill(scores.shape, -Infinity));
  const safe = tf.where(tf.broadcastTo(rowAny, scores.shape), masked, tf.zerosLike(scores)); // no -Inf-only rows
  const p = tf.mul(tf.softmax(safe, -1), tf.cast(rowAny, 'float32'));
  return tf.matMul(p, v);
}

/** [value, dq, dk, dv] of sum(f(q, k, v) * r) for a fixed random r (weights `r` may be given). */
function valueAndGrads(
  f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor,
  inputs: tf.Tensor4D[] = qkv(),
  r?: tf.Tensor,
): tf.Tensor[] {
  const y = f(inputs[0]!, inputs[1]!, inputs[2]!);
  const w = r ?? rand(y.shape, 99);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), w)),
  );
  return [y, ...g(inputs)];
}

/** Runs `fn` on `backend` and returns the values of its outputs (all tensors disposed). */
function on(backend: string, fn: () => tf.Tensor[]): Arr[] {
  void tf.setBackend(backend);
  const out = tf.tidy(() => fn().map((t) => t.dataSync().slice()));
  void tf.setBackend('wasm');
  return out;
}

function expectClose(a: Arr[], b: Arr[], tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const y = b[i]!;
    expect(x.length).toBe(y.length);
    let worst = 0;
    for (let j = 0; j < x.length; j++) {
      expect(Number.isFinite(x[j]!), `output ${i}[${j}] is ${x[j]}`).toBe(true);
      worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / Math.max(1, Math.abs(y[j]!)));
    }
    expect(worst, `output ${i}`).toBeLessThan(tol);
  });
}

/** attention on wasm and cpu (with and without gradients) against the reference on cpu. */
function checkParity(make: MakeOptions): void {
  const ref = on('cpu', () => valueAndGrads((q, k, v) => reference(q, k, v, make())));
  for (const backend of ['wasm', 'cpu']) {
    expectClose(
      on(backend, () => valueAndGrads((q, k, v) => attention(q, k, v, make()))),
      ref,
    );
    expectClose(
      on(backend, () => {
        const [q, k, v] = qkv();
        return [attention(q!, k!, v!, make())];
      }),
      [ref[0]!],
    ); // no-grad path
  }
  // No leaked tensors: a forward and a tf.grads call leave only what they return.
  const [q, k, v] = qkv();
  const o = make();
  const before = tf.memory().numTensors;
  tf.dispose(attention(q!, k!, v!, o));
  const r = rand([B, H, T, K], 98);
  tf.dispose(
    tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf.sum(tf.mul(attention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, o), r)),
    )([q!, k!, v!]),
  );
  r.dispose();
  expect(tf.memory().numTensors, 'tensors left by attention').toBe(before);
  tf.dispose([q!, k!, v!, ...(o.mask ? [o.mask] : []), ...(o.keyPadding ? [o.keyPadding] : [])]);
}

/** Pseudo-random bool pattern of `shape` with roughly 1 in 3 false. */
function boolMask(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    Array.from(
      values(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
      (x) => x > -0.33,
    ),
    shape,
    'bool',
  );
}

/** Additive pattern: 0, a finite bias, or -Infinity. */
function additiveMask(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(
    Array.from(
      values(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
      (x) => (x < -0.4 ? -Infinity : x < 0 ? 2 * x : 0),
    ),
    shape,
    'float32',
  );
}

/** Real key counts per batch row: row 0 all 11, row 1 the first 6. */
const padding = (dtype: 'bool' | 'float32' | 'int32') =>
  tf.tensor2d(
    Array.from({ length: B * S }, (_, i) => (i < S || i % S < 6 ? 1 : 0)),
    [B, S],
    dtype,
  );

describe('attention: cross shapes and masks match the plain TF.js formulation', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('cross-attention T = 7 queries over S = 11 keys, no mask', () => checkParity(() => ({})));
  it('keyPadding bool, float32 and int32 (ragged batch)', () => {
    for (const dt of ['bool', 'float32', 'int32'] as const) checkParity(() => ({ keyPadding: padding(dt) }));
  });
  for (const [name, shape] of [
    ['[T, S]', [T, S]],
    ['[B, T, S]', [B, T, S]],
    ['[1, T, S]', [1, T, S]],
    ['[B, H, T, S]', [B, H, T, S]],
    ['[1, H, T, S]', [1, H, T, S]],
    ['[B, 1, T, S]', [B, 1, T, S]],
  ] as const) {
    it(`boolean mask ${name}`, () => checkParity(() => ({ mask: boolMask([...shape], 5) })));
    it(`additive mask ${name} (0, finite biases, -Infinity)`, () => checkParity(() => ({ mask: additiveMask([...shape], 6) })));
  }
  it('causal (default offset S - T, offset 2, negative offset -3) combined with keyPadding', () => {
    for (const causalOffset of [undefined, 2, -3])
      checkParity(() => ({ causal: true, keyPadding: padding('bool'), ...(causalOffset === undefined ? {} : { causalOffset }) }));
  });
  it('causal + keyPadding + boolean mask + additive mask all at once (AND)', () => {
    checkParity(() => ({ causal: true, causalOffset: 5, keyPadding: padding('float32'), mask: additiveMask([B, H, T, S], 8) }));
    checkParity(() => ({ causal: true, keyPadding: padding('bool'), mask: boolMask([B, T, S], 9) }));
  });
  it('causal self-attention T = S = 7 equals causalAttention bit for bit', () => {
    for (const backend of ['wasm', 'cpu']) {
      const inputs = () => [rand([B, H, T, K], 1), rand([B, H, T, K], 2), rand([B, H, T, K], 3)] as tf.Tensor4D[];
      const a = on(backend, () => valueAndGrads((q, k, v) => attention(q, k, v, { causal: true }), inputs()));
      const c = on(backend, () => valueAndGrads((q, k, v) => causalAttention(q, k, v), inputs()));
      a.forEach((x, i) => expect(Array.from(x), `output ${i}`).toEqual(Array.from(c[i]!)));
    }
  });
});

describe('attention: fully masked rows, padding invariance', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  // Queries 0..2 see nothing (the whole row is masked), the others see a pattern.
  const rowsMasked = (): tf.Tensor =>
    tf.tensor2d(
      Array.from({ length: T * S }, (_, i) => Math.floor(i / S) >= 3 && (i % S) % 3 !== 1),
      [T, S],
      'bool',
    );
  const isEmptyRow = (i: number) => Math.floor(i / K) % T < 3; // flat index into [B, H, T, K]

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: a row with no visible key gives exactly 0, exactly 0 gradient, no NaN`, () => {
      for (const make of [
        () => ({ mask: rowsMasked() }),
        () => ({ mask: tf.where(rowsMasked(), tf.zeros([T, S]), tf.fill([T, S], -Infinity)) }),
        () => ({ causal: true, causalOffset: -3 }),
      ]) {
        const [y, dq, dk, dv] = on(backend, () => valueAndGrads((q, k, v) => attention(q, k, v, make())));
        for (const arr of [y!, dq!, dk!, dv!]) for (const x of arr) expect(Number.isFinite(x)).toBe(true);
        let zeros = 0;
        y!.forEach((x, i) => {
          if (isEmptyRow(i)) {
            expect(x === 0, `y[${i}] = ${x}`).toBe(true);
            zeros++;
          }
        });
        dq!.forEach((x, i) => {
          if (isEmptyRow(i)) expect(x === 0, `dq[${i}] = ${x}`).toBe(true);
        });
        expect(zeros).toBe(B * H * 3 * K);
        // The empty rows pass nothing to k and v: zeroing their output weights changes no bit.
        const r = values(B * H * T * K, 99).map((x, i) => (isEmptyRow(i) ? 0 : x));
        const [, dq2, dk2, dv2] = on(backend, () =>
          valueAndGrads((q, k, v) => attention(q, k, v, make()), qkv(), tf.tensor(r, [B, H, T, K])),
        );
        expect(Array.from(dk2!)).toEqual(Array.from(dk!));
        expect(Array.from(dv2!)).toEqual(Array.from(dv!));
        expect(Array.from(dq2!)).toEqual(Array.from(dq!));
      }
    });

    it(`${backend}: no keys at all (S = 0, an empty source segment): output and dq exactly 0`, () => {
      const [y, dq] = on(backend, () => {
        const empty = tf.zeros([B, H, 0, K]) as tf.Tensor4D;
        return valueAndGrads(
          (q, k, v) => attention(q, k, v, { keyPadding: tf.zeros([B, 0], 'bool') as tf.Tensor2D }),
          [qkv()[0]!, empty, empty],
        );
      });
      expect(y!.length).toBe(B * H * T * K);
      expect(Array.from(y!).every((x) => x === 0)).toBe(true);
      expect(Array.from(dq!).every((x) => x === 0)).toBe(true);
    });

    it(`${backend}: changing padded keys and values changes no bit of any output or of dq`, () => {
      // Batch row 1 has 6 real keys; its keys 6..10 get other (and huge) values.
      const changed = (x: tf.Tensor4D, seed: number) => {
        const real = tf.reshape(tf.tensor1d(Array.from({ length: B * S }, (_, i) => (i < S || i % S < 6 ? 1 : 0))), [B, 1, S, 1]);
        return tf.add(tf.mul(x, real), tf.mul(tf.mul(rand(x.shape, seed), 1e3), tf.sub(1, real))) as tf.Tensor4D;
      };
      for (const make of [
        () => ({ keyPadding: padding('bool') }),
        () => ({ causal: true, keyPadding: padding('float32') }),
        () => ({ keyPadding: padding('int32'), mask: additiveMask([T, S], 4) }),
      ]) {
        const base = on(backend, () => valueAndGrads((q, k, v) => attention(q, k, v, make())));
        const moved = on(backend, () => {
          const [q, k, v] = qkv();
          return valueAndGrads((a, b, c) => attention(a, b, c, make()), [q!, changed(k!, 17), changed(v!, 18)]);
        });
        expect(Array.from(moved[0]!)).toEqual(Array.from(base[0]!));
        expect(Array.from(moved[1]!)).toEqual(Array.from(base[1]!));
        // dk, dv of the padded keys are exactly 0; of the real keys unchanged.
        for (const g of [2, 3]) {
          expect(Array.from(moved[g]!)).toEqual(Array.from(base[g]!));
          moved[g]!.forEach((x, i) => {
            if (Math.floor(i / (H * S * K)) === 1 && Math.floor(i / K) % S >= 6) expect(x === 0, `padded key gradient ${x}`).toBe(true);
          }); // [B, H, S, K]
        }
      }
    });
  }
});

describe('attention: prepared masks', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  const sizes = { batch: B, heads: H, queries: T, keys: S };
  const optionSets: Array<[string, MakeOptions]> = [
    ['none', () => ({})],
    ['causal', () => ({ causal: true })],
    ['causal, offset -3', () => ({ causal: true, causalOffset: -3 })],
    ['keyPadding', () => ({ keyPadding: padding('bool') })],
    ['everything', () => ({ causal: true, keyPadding: padding('float32'), mask: additiveMask([B, 1, T, S], 12) })],
  ];
  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: attention with a prepared mask equals the options bit for bit (values, dq, dk, dv); no leaks`, () => {
      for (const [name, make] of optionSets) {
        const direct = on(backend, () => valueAndGrads((q, k, v) => attention(q, k, v, make())));
        const viaPrepared = on(backend, () => {
          const prepared = prepareAttentionMask(make(), sizes);
          return valueAndGrads((q, k, v) => attention(q, k, v, { prepared }));
        });
        direct.forEach((x, i) => expect(Array.from(viaPrepared[i]!), `${name}: output ${i}`).toEqual(Array.from(x)));
      }
      void tf.setBackend(backend);
      const o = optionSets[4]![1]();
      const before = tf.memory().numTensors;
      const prepared = prepareAttentionMask(o, sizes);
      const [q, k, v] = qkv();
      tf.dispose([attention(q!, k!, v!, { prepared }), q!, k!, v!]);
      prepared.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([o.keyPadding!, o.mask!]);
      void tf.setBackend('wasm');
    });
  }

  it('rejects a prepared mask of other sizes, or mixed with mask options', () => {
    tf.tidy(() => {
      const [q, k, v] = qkv();
      const prepared = prepareAttentionMask({ causal: true }, { ...sizes, keys: 13 });
      expect(() => attention(q!, k!, v!, { prepared })).toThrow(
        /prepared mask is for \[B, H, T, S\] = \[2,3,7,13\], this call is \[2,3,7,11\]/,
      );
      const ok = prepareAttentionMask({ causal: true }, sizes);
      expect(() => attention(q!, k!, v!, { prepared: ok, causal: true })).toThrow(/either prepared/);
      expect(() => prepareAttentionMask({ keyPadding: padding('bool') }, { ...sizes, batch: 3 })).toThrow(
        /keyPadding must be \[B=3, S=11\]/,
      );
      expect(() => prepareAttentionMask({}, { ...sizes, heads: 0 })).toThrow(/sizes.heads must be a positive integer/);
      prepared.dispose();
      ok.dispose();
    });
  });
});

describe('attention: the README example', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('text queries read speech keys with keyPadding and a [T, S] mask; text position 0 sees nothing and gets exactly 0', () => {
    tf.tidy(() => {
      const [q, k, v] = qkv();
      // As in packages/core/README.md, "Ops":
      const keyPadding = tf.tensor2d([Array(11).fill(1), [...Array(6).fill(1), ...Array(5).fill(0)]], [2, 11], 'bool');
      const mask = tf.tensor2d(
        Array.from({ length: 7 * 11 }, (_, i) => i % 11 < Math.floor(i / 11)),
        [7, 11],
        'bool',
      ); // [T, S]
      const y = attention(q!, k!, v!, { keyPadding, mask }); // text position 0 sees nothing: its row is exactly 0
      const out = y.arraySync() as number[][][][];
      for (const b of out)
        for (const h of b) {
          expect(h[0]!.every((x) => x === 0)).toBe(true);
          expect(h[1]!.some((x) => x !== 0)).toBe(true);
        }
    });
  });
});

describe('attention: typed errors name the argument', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('rejects bad q, k, v, keyPadding, mask and causalOffset with a ShapeError', () => {
    tf.tidy(() => {
      const [q, k, v] = qkv();
      const bad: Array<[() => unknown, RegExp]> = [
        [() => attention(tf.zeros([B, T, K]) as tf.Tensor as tf.Tensor4D, k!, v!), /attention: q must be float32 of rank 4/],
        [() => attention(q!, k!, tf.zeros([B, H, S, 5]) as tf.Tensor4D), /k and v must be/],
        [() => attention(q!, tf.zeros([B, H, S, 5]) as tf.Tensor4D, tf.zeros([B, H, S, 5]) as tf.Tensor4D), /k and v must be/],
        [() => attention(q!, k!, tf.zeros([B, H, S, K], 'int32') as tf.Tensor4D), /v must be float32/],
        [() => attention(q!, k!, v!, { keyPadding: tf.ones([B, T]) as tf.Tensor2D }), /keyPadding must be \[B=2, S=11\]/],
        [() => attention(q!, k!, v!, { mask: tf.ones([S, T]) }), /mask must end in \[T, S\]/],
        [() => attention(q!, k!, v!, { mask: tf.ones([3, T, S]) }), /mask must have batch 1 or B/],
        [() => attention(q!, k!, v!, { mask: tf.ones([B, 2, T, S]) }), /heads 1 or H/],
        [() => attention(q!, k!, v!, { mask: tf.ones([T, S], 'int32') }), /mask has the wrong dtype/],
        [() => attention(q!, k!, v!, { mask: tf.ones([S]) }), /mask has the wrong rank/],
        [() => attention(q!, k!, v!, { causal: true, causalOffset: 1.5 }), /causalOffset must be an integer/],
        [() => attention(q!, k!, v!, { causalOffset: 2 }), /causalOffset \(2\) is given without causal: true/],
        [() => causalAttention(q!, k!, v!, { causalOffset: -1 }), /causalOffset must be an integer >= 0/],
      ];
      for (const [f, msg] of bad) {
        expect(f).toThrow(ShapeError);
        expect(f).toThrow(msg);
      }
    });
  });
});
