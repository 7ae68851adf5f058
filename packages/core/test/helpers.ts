/** Helpers shared by the core tests (not a test file itself). */
import type * as tf from '@tensorflow/tfjs-core';

/** Deterministic values in [-1, 1) (a small LCG), so both backends get identical inputs. */
export function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Largest absolute difference, relative to the largest magnitude in `b`. */
export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m / Math.max(scale, 1e-12);
}

/** A copy of every parameter's values. */
export function snapshot(params: ReadonlyMap<string, tf.Tensor>): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
}
