/**
 * decoderBlock with `state.mask` (an encoder block): a lower-triangular boolean mask gives the
 * causal block's numbers; with a full mask an early position reads later ones; key padding
 * keeps a row's real positions equal to the same row alone; the custom-gradient path trains.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { decoderBlock, initBackend, Mulberry32, type BlockWeights } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

const D = 16;
const OPTS = { nHeads: 2, ropeBase: 10000, normEps: 1e-6 };

function weights(seed: number): BlockWeights {
  const rng = new Mulberry32(seed);
  const w = (r: number, c: number) =>
    tf.tensor2d(
      Float32Array.from({ length: r * c }, () => (rng.next() - 0.5) * 0.6),
      [r, c],
    );
  return {
    ln1: tf.ones([D]) as tf.Tensor1D,
    qkv: w(D, 3 * D),
    out: w(D, D),
    ln2: tf.ones([D]) as tf.Tensor1D,
    up: w(D, 4 * D),
    down: w(4 * D, D),
  };
}

function input(seed: number, b: number, t: number): tf.Tensor3D {
  const rng = new Mulberry32(seed);
  return tf.tensor3d(
    Float32Array.from({ length: b * t * D }, () => rng.next() * 2 - 1),
    [b, t, D],
  );
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('decoderBlock with a mask (encoder block)', () => {
  it('a lower-triangular boolean mask equals the causal block', () => {
    const w = weights(1);
    const x = input(2, 2, 7);
    const tri = tf.tensor2d(
      Array.from({ length: 49 }, (_, i) => (i % 7 <= Math.floor(i / 7) ? 1 : 0)),
      [7, 7],
      'bool',
    );
    const causal = decoderBlock(w, x, { start: 0 }, OPTS).y;
    const masked = decoderBlock(w, x, { start: 0, mask: { mask: tri } }, OPTS).y;
    expect(maxAbs(causal, masked)).toBeLessThan(1e-6);
    expect(maxAbs(causal, tf.zerosLike(causal))).toBeGreaterThan(0.1);
  });

  it('bidirectional: position 0 reads a later position; the causal block does not', () => {
    const w = weights(3);
    const x = input(4, 1, 5);
    const changed = tf.tidy(() =>
      tf.concat([tf.slice(x, [0, 0, 0], [1, 4, D]), tf.add(tf.slice(x, [0, 4, 0], [1, 1, D]), 1)], 1),
    ) as tf.Tensor3D;
    const all = tf.ones([5, 5], 'bool');
    const first = (y: tf.Tensor3D) => tf.slice(y, [0, 0, 0], [1, 1, D]);
    const bi = (v: tf.Tensor3D) => decoderBlock(w, v, { start: 0, mask: { mask: all } }, OPTS).y;
    const ca = (v: tf.Tensor3D) => decoderBlock(w, v, { start: 0 }, OPTS).y;
    expect(maxAbs(first(bi(x)), first(bi(changed)))).toBeGreaterThan(1e-3);
    expect(maxAbs(first(ca(x)), first(ca(changed)))).toBe(0);
  });

  it('key padding: a padded row gives its real positions exactly as the row alone (within 1e-6)', () => {
    const w = weights(5);
    const long = input(6, 1, 6);
    const short = tf.slice(long, [0, 0, 0], [1, 4, D]) as tf.Tensor3D;
    const padded = tf.concat([long, tf.concat([short, tf.fill([1, 2, D], 9)], 1)], 0) as tf.Tensor3D; // row 1: 4 real + 2 junk
    const keyPadding = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 6], 'bool');
    const y = decoderBlock(w, padded, { start: 0, mask: { keyPadding } }, OPTS).y;
    const alone = decoderBlock(w, short, { start: 0, mask: { mask: tf.ones([4, 4], 'bool') } }, OPTS).y;
    expect(maxAbs(tf.slice(y, [1, 0, 0], [1, 4, D]), alone)).toBeLessThan(1e-6);
  });

  it('trains through the masked path: a few SGD steps lower a regression loss', () => {
    const w = weights(7);
    const vars = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tf.variable(v)])) as unknown as Record<
      keyof BlockWeights,
      tf.Variable
    >;
    const x = input(8, 2, 5);
    const target = input(9, 2, 5);
    const keyPadding = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 5], 'bool');
    const loss = () =>
      tf.tidy(() => {
        const y = decoderBlock(vars as unknown as BlockWeights, x, { start: 0, mask: { keyPadding } }, OPTS).y;
        return tf.mean(tf.square(tf.sub(y, target))) as tf.Scalar;
      });
    const before = loss().dataSync()[0]!;
    const opt = tf.train.sgd(0.05);
    for (let i = 0; i < 20; i++) opt.minimize(loss, false, Object.values(vars));
    const after = loss().dataSync()[0]!;
    expect(after).toBeLessThan(before * 0.9);
  });
});
