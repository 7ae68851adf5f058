/**
 * Real-input FFT of a power-of-two size N, computed as one complex FFT of size H = N / 2 (even
 * samples as the real part, odd samples as the imaginary part) plus a split step, with the
 * bit-reversal permutation and every twiddle precomputed and all scratch allocated once. Used by
 * the Griffin-Lim loop, which calls it twice per frame per iteration.
 *
 * Conventions match fft.js (`realTransform` / `inverseTransform`) and torch.fft.rfft / irfft:
 * forward X[k] = sum_n x[n] e^{-2 pi i k n / N}; inverse x[n] = (1 / N) sum_k X[k] e^{+2 pi i k n / N}
 * over the Hermitian-completed spectrum.
 *
 * Legend: N size, H = N / 2, bins k = 0 .. H (H + 1 of them).
 */
import { TokenizerConfigError } from '../errors.js';

export class RealFft {
  readonly size: number;
  private readonly h: number;
  /** Bit reversal of log2(H) bits. */
  private readonly rev: Uint32Array;
  /** cos / sin of 2 pi j / H, j < H / 2 (the complex FFT's twiddles). */
  private readonly cosH: Float64Array;
  private readonly sinH: Float64Array;
  /** cos / sin of 2 pi k / N, k <= H (the split step's twiddles). */
  private readonly cosN: Float64Array;
  private readonly sinN: Float64Array;
  private readonly zr: Float64Array;
  private readonly zi: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new TokenizerConfigError(`RealFft size must be a power of two >= 4, got ${size}`);
    }
    this.size = size;
    const h = (this.h = size / 2);
    const bits = Math.round(Math.log2(h));
    this.rev = new Uint32Array(h);
    for (let i = 0; i < h; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.cosH = new Float64Array(Math.max(1, h / 2));
    this.sinH = new Float64Array(Math.max(1, h / 2));
    for (let j = 0; j < h / 2; j++) {
      this.cosH[j] = Math.cos((2 * Math.PI * j) / h);
      this.sinH[j] = Math.sin((2 * Math.PI * j) / h);
    }
    this.cosN = new Float64Array(h + 1);
    this.sinN = new Float64Array(h + 1);
    for (let k = 0; k <= h; k++) {
      this.cosN[k] = Math.cos((2 * Math.PI * k) / size);
      this.sinN[k] = Math.sin((2 * Math.PI * k) / size);
    }
    this.zr = new Float64Array(h);
    this.zi = new Float64Array(h);
  }

  /** In-place radix-2 complex FFT of zr + i zi (already bit-reversed); sign -1 forward, +1 inverse (unscaled). */
  private complex(sign: number): void {
    const { zr, zi, cosH, sinH, h } = this;
    // size-2 butterflies (twiddle 1)
    for (let a = 0; a < h; a += 2) {
      const br = zr[a + 1]!;
      const bi = zi[a + 1]!;
      zr[a + 1] = zr[a]! - br;
      zi[a + 1] = zi[a]! - bi;
      zr[a]! += br;
      zi[a]! += bi;
    }
    for (let len = 4; len <= h; len <<= 1) {
      const half = len >> 1;
      const step = h / len;
      for (let j = 0; j < half; j++) {
        const c = cosH[j * step]!;
        const s = sign * sinH[j * step]!;
        for (let a = j; a < h; a += len) {
          const b = a + half;
          const xr = zr[b]!;
          const xi = zi[b]!;
          const tr = xr * c - xi * s;
          const ti = xr * s + xi * c;
          zr[b] = zr[a]! - tr;
          zi[b] = zi[a]! - ti;
          zr[a]! += tr;
          zi[a]! += ti;
        }
      }
    }
  }

  /** Spectrum bins 0 .. H of real x[0 .. N): re[o + k], im[o + k]. */
  forward(x: ArrayLike<number>, re: Float64Array, im: Float64Array, o: number): void {
    const { zr, zi, rev, cosN, sinN, h } = this;
    for (let n = 0; n < h; n++) {
      const j = rev[n]!;
      zr[j] = x[2 * n]!;
      zi[j] = x[2 * n + 1]!;
    }
    this.complex(-1);
    // X[k] = Ze[k] + e^{-2 pi i k / N} Zo[k], Ze = (Z[k] + conj Z[H-k]) / 2, Zo = (Z[k] - conj Z[H-k]) / 2i
    for (let k = 0; k <= h; k++) {
      const ka = k === h ? 0 : k;
      const kb = k === 0 ? 0 : h - k;
      const ar = zr[ka]!;
      const ai = zi[ka]!;
      const br = zr[kb]!;
      const bi = -zi[kb]!;
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai + bi);
      const or = 0.5 * (ai - bi);
      const oi = -0.5 * (ar - br);
      const c = cosN[k]!;
      const s = sinN[k]!;
      re[o + k] = er + c * or + s * oi;
      im[o + k] = ei + c * oi - s * or;
    }
  }

  /**
   * Real x[0 .. N) whose spectrum is bins 0 .. H of (re, im) at offset o, completed by Hermitian
   * symmetry (the imaginary parts of bins 0 and H cannot be represented and are ignored, as the
   * real part of a full complex inverse would).
   */
  inverse(re: ArrayLike<number>, im: ArrayLike<number>, o: number, x: Float64Array): void {
    const { zr, zi, rev, cosN, sinN, h } = this;
    const scale = 0.5 / h;
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
      const j = rev[k]!;
      zr[j] = scale * (er - oi);
      zi[j] = scale * (ei + or);
    }
    this.complex(1);
    for (let n = 0; n < h; n++) {
      x[2 * n] = zr[n]!;
      x[2 * n + 1] = zi[n]!;
    }
  }
}

const plans = new Map<number, RealFft>();

/** A shared plan per size (plans hold scratch: use from one thread at a time, as JS does). */
export function realFftOf(size: number): RealFft {
  let f = plans.get(size);
  if (!f) plans.set(size, (f = new RealFft(size)));
  return f;
}
