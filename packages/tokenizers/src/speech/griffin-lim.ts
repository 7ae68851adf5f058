/**
 * Griffin-Lim phase reconstruction (Griffin & Lim 1984) with the "fast" momentum variant
 * (Perraudin, Balazs & Sondergaard 2013, as in librosa.griffinlim): from a magnitude
 * spectrogram, alternate between the consistent STFTs (istft then stft) and the set of
 * spectra with the target magnitude. The initial phase is seeded random, or with `init: 'pghi'`
 * the phase gradient heap integration of the magnitudes (pghi.ts), which needs fewer iterations.
 *
 * The same algorithm as `griffinLimReference` (the plain loop over `stft` / `istft`), fused
 * for speed: a half-size real FFT with precomputed twiddles (`RealFft`), the window's summed
 * squares computed once, loops over the window's non-zero span only, every buffer allocated
 * once, and no callbacks. The audio between the
 * two transforms stays float32 as in the reference, so the output matches it to float rounding
 * (test/speech-griffin-lim.test.ts).
 *
 * Legend: T frames, N = nFft, Fb = N / 2 + 1 bins; spectra row-major [T, Fb].
 */
import type { LogMelConfig } from './config.js';
import { hannWindow, reflectIndex } from './stft.js';
import { pghiPhase } from './pghi.js';
import { realFftOf } from './real-fft.js';
import { TokenizerConfigError, WavEmptyError } from '../errors.js';
import { mulberry32 } from '@zipper/common';

export interface GriffinLimOptions {
  readonly iterations: number;
  readonly momentum: number;
  readonly seed: number;
  /** The initial phase: 'random' (seeded; the default) or 'pghi' (pghiPhase, its low coefficients seeded random). */
  readonly init?: GriffinLimInit;
}

export type GriffinLimInit = 'random' | 'pghi';

type StftParams = Pick<LogMelConfig, 'nFft' | 'winLength' | 'hopLength'>;

/** Audio of `length` samples whose STFT magnitude approximates `mag` ([T, Fb]). */
export function griffinLim(mag: Float64Array, frames: number, p: StftParams, length: number, o: GriffinLimOptions): Float32Array {
  const { nFft: N, hopLength: hop } = p;
  const fb = N / 2 + 1;
  const n = frames * fb;
  if (mag.length !== n)
    throw new TokenizerConfigError(
      `griffinLim: magnitudes hold ${mag.length} values, expected frames x (nFft / 2 + 1) = ${frames} x ${fb} = ${n}`,
    );
  if (length === 0 && o.iterations > 0) throw new WavEmptyError('cannot analyse zero samples of audio');
  const fft = realFftOf(N);
  const win = hannWindow(p.winLength, N);
  const half = N / 2;
  // the window is non-zero only on [w0, w1): the frame loops skip its zero padding
  const w0 = Math.floor((N - p.winLength) / 2);
  const w1 = w0 + p.winLength;
  const total = N + hop * (frames - 1);
  // the istft's normaliser: summed squared window at each overlap-added sample
  const norm = new Float64Array(total);
  for (let t = 0; t < frames; t++) for (let i = 0; i < N; i++) norm[t * hop + i]! += win[i]! * win[i]!;

  // unit phasors (angles): random, or integrated from the magnitudes' gradients
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  if (o.init === 'pghi') {
    const phase = pghiPhase(mag, frames, p, { seed: o.seed });
    for (let i = 0; i < n; i++) {
      ar[i] = Math.cos(phase[i]!);
      ai[i] = Math.sin(phase[i]!);
    }
  } else if (o.init === undefined || o.init === 'random') {
    const rand = mulberry32(o.seed);
    for (let i = 0; i < n; i++) {
      const phi = 2 * Math.PI * rand();
      ar[i] = Math.cos(phi);
      ai[i] = Math.sin(phi);
    }
  } else throw new TokenizerConfigError(`griffinLim: init must be 'random' or 'pghi', got ${String(o.init)}`);
  const prevR = new Float64Array(n);
  const prevI = new Float64Array(n);
  const sr = new Float64Array(fb);
  const si = new Float64Array(fb);
  const re = new Float64Array(fb);
  const im = new Float64Array(fb);
  const frame = new Float64Array(N);
  const acc = new Float64Array(total);
  const y = new Float32Array(length);
  const kept = Math.min(length, total - half);

  /** y = istft(mag * (ar + i ai)): inverse FFT per frame, window, overlap-add, normalise. */
  const synthesize = (): void => {
    acc.fill(0);
    for (let t = 0; t < frames; t++) {
      const o = t * fb;
      for (let k = 0; k < fb; k++) {
        sr[k] = mag[o + k]! * ar[o + k]!;
        si[k] = mag[o + k]! * ai[o + k]!;
      }
      fft.inverse(sr, si, 0, frame);
      const s = t * hop;
      for (let i = w0; i < w1; i++) acc[s + i]! += frame[i]! * win[i]!;
    }
    for (let i = 0; i < kept; i++) {
      const z = norm[i + half]!;
      y[i] = z > 1e-11 ? acc[i + half]! / z : 0;
    }
  };

  const beta = o.momentum / (1 + o.momentum);
  for (let it = 0; it < o.iterations; it++) {
    synthesize();
    for (let t = 0; t < frames; t++) {
      const start = t * hop - half;
      frame.fill(0, 0, w0);
      frame.fill(0, w1);
      if (start >= 0 && start + N <= length) {
        for (let i = w0; i < w1; i++) frame[i] = y[start + i]! * win[i]!;
      } else {
        for (let i = w0; i < w1; i++) frame[i] = y[reflectIndex(start + i, length)]! * win[i]!;
      }
      fft.forward(frame, re, im, 0);
      const o = t * fb;
      for (let k = 0; k < fb; k++) {
        const xr = re[k]!;
        const xi = im[k]!;
        const zr = xr - beta * prevR[o + k]!;
        const zi = xi - beta * prevI[o + k]!;
        const inv = 1 / (Math.sqrt(zr * zr + zi * zi) + 1e-16);
        ar[o + k] = zr * inv;
        ai[o + k] = zi * inv;
        prevR[o + k] = xr;
        prevI[o + k] = xi;
      }
    }
  }
  synthesize();
  return y;
}
