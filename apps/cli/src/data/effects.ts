import type { Prng } from './prng.js';

/** Additive noise kinds of test-other. */
export type NoiseKind = 'white' | 'pink';

/** Mean square of int16 samples. */
export function power(x: Int16Array | Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return x.length ? s / x.length : 0;
}

/**
 * Gaussian noise from `prng`: white, or pink (Paul Kellet's economy 1/f filter on white noise).
 * Unit power is not guaranteed; the caller rescales.
 */
export function makeNoise(n: number, kind: NoiseKind, prng: Prng): Float64Array {
  const out = new Float64Array(n);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = 0; i < n; i++) {
    const w = prng.gaussian();
    if (kind === 'white') out[i] = w;
    else {
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      out[i] = b0 + b1 + b2 + w * 0.1848;
    }
  }
  return out;
}

/**
 * Adds noise at `snrDb` (signal power over the whole utterance / noise power), rounding and
 * clipping to int16. Deterministic: all randomness comes from `prng`.
 */
export function addNoise(x: Int16Array, snrDb: number, kind: NoiseKind, prng: Prng): Int16Array {
  const noise = makeNoise(x.length, kind, prng);
  const pn = power(noise);
  const gain = pn > 0 ? Math.sqrt(power(x) / 10 ** (snrDb / 10) / pn) : 0;
  const y = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round(x[i]! + gain * noise[i]!);
    y[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return y;
}
