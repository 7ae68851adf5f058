/**
 * Real-input FFT of a power-of-two size N. The inverse is computed as one complex FFT of size H = N / 2 (even
 * samples as the real part, odd samples as the imaginary part; fft.js's radix-4) plus a split
 * step with precomputed twiddles, all scratch allocated once: half the work of the full N-point
 * complex inverse `istft` uses. The forward is fft.js's `realTransform` (already a real FFT). Used by
 * the Griffin-Lim loop, which calls it twice per frame per iteration.
 *
 * Conventions match fft.js (`realTransform` / `inverseTransform`) and torch.fft.rfft / irfft:
 * forward X[k] = sum_n x[n] e^{-2 pi i k n / N}; inverse x[n] = (1 / N) sum_k X[k] e^{+2 pi i k n / N}
 * over the Hermitian-completed spectrum.
 *
 * Legend: N size, H = N / 2, bins k = 0 .. H (H + 1 of them).
 */
import FFT from 'fft.js';
import { TokenizerConfigError } from '../errors.js';

export class RealFft {
  readonly size: number;
  private readonly h: number;
  /** fft.js's radix-4 complex FFT of size H (interleaved re, im). */
  private readonly fft: FFT;
  /** cos / sin of 2 pi k / N, k <= H (the split step's twiddles). */
  private readonly cosN: Float64Array;
  private readonly sinN: Float64Array;
  /** fft.js's size-N plan, for the forward real transform. */
  private readonly full: FFT;
  /** Interleaved complex scratch: z (H values) for the inverse, spec (N values) for the forward. */
  private readonly z: Float64Array;
  private readonly spec: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new TokenizerConfigError(`RealFft size must be a power of two >= 4, got ${size}`);
    }
    this.size = size;
    const h = (this.h = size / 2);
    this.fft = new FFT(h);
    this.cosN = new Float64Array(h + 1);
    this.sinN = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.cosN[k] = Math.cos((2 * Math.PI * k) / size);
      this.sinN[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.full = new FFT(size);
    this.z = new Float64Array(2 * h);
    this.spec = new Float64Array(2 * size);
  }

  /** Spectrum bins 0 .. H of real x[0 .. N): re[o + k], im[o + k] (fft.js's own real transform, the fastest measured). */
  forward(x: Float64Array, re: Float64Array, im: Float64Array, o: number): void {
    const { spec, h } = this;
    this.full.realTransform(spec, x);
    for (let k = 0; k <= h; k++) {
      re[o + k] = spec[2 * k]!;
      im[o + k] = spec[2 * k + 1]!;
    }
  }

  /**
   * Real x[0 .. N) whose spectrum is bins 0 .. H of (re, im) at offset o, completed by Hermitian
   * symmetry (the imaginary parts of bins 0 and H cannot be represented and are ignored, as the
   * real part of a full complex inverse would).
   */
  inverse(re: ArrayLike<number>, im: ArrayLike<number>, o: number, x: Float64Array): void {
    const { z, cosN, sinN, h } = this;
    // Z[k] = Xe[k] + i Xo[k]: Xe = (X[k] + conj X[H-k]) / 2, Xo = (X[k] - conj X[H-k]) e^{+2 pi i k / N} / 2
    for (let k = 0; k < h; k++) {
      const ar = re[o + k]!;
      const ai = k === 0 ? 0 : im[o + k]!;
      const br = re[o + h - k]!;
      const bi = k === 0 ? 0 : -im[o + h - k]!;
      const er = ar + br;
      const ei = ai + bi;
      const dr = ar - br;
      const di = ai - bi;
      const c = cosN[k]!;
      const s = sinN[k]!;
      const or = dr * c - di * s;
      const oi = dr * s + di * c;
      z[2 * k] = 0.5 * (er - oi);
      z[2 * k + 1] = 0.5 * (ei + or);
    }
    // fft.js's inverse divides by H; z[n] = x[2n] + i x[2n+1] is x's interleaved layout
    this.fft.inverseTransform(x, z);
  }
}

const plans = new Map<number, RealFft>();

/** A shared plan per size (plans hold scratch: use from one thread at a time, as JS does). */
export function realFftOf(size: number): RealFft {
  let f = plans.get(size);
  if (!f) plans.set(size, (f = new RealFft(size)));
  return f;
}
