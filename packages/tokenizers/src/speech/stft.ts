/**
 * Short-time Fourier transform with torch.stft's conventions (center=True, reflect padding,
 * periodic Hann window of winLength zero-padded to nFft and centred), and its least-squares
 * inverse (overlap-add divided by the summed squared window), as used by Griffin-Lim.
 *
 * Legend: T frames, N = nFft, Fb = N / 2 + 1 frequency bins. Spectra are row-major [T, Fb].
 */
import FFT from 'fft.js';
import type { LogMelConfig } from './config.js';
import { WavEmptyError } from '../errors.js';

type StftParams = Pick<LogMelConfig, 'nFft' | 'winLength' | 'hopLength'>;

/** Periodic Hann window of `winLength`, zero-padded to `nFft` with the window centred. */
export function hannWindow(winLength: number, nFft: number): Float64Array {
  const w = new Float64Array(nFft);
  const off = Math.floor((nFft - winLength) / 2);
  for (let i = 0; i < winLength; i++) w[off + i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / winLength);
  return w;
}

/** Number of frames torch.stft(center=True) gives for n samples. */
export function frameCount(n: number, hopLength: number): number {
  return 1 + Math.floor(n / hopLength);
}

export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const j = ((i % period) + period) % period;
  return j < n ? j : period - j;
}

const ffts = new Map<number, FFT>();
function fftOf(n: number): FFT {
  let f = ffts.get(n);
  if (!f) ffts.set(n, (f = new FFT(n)));
  return f;
}

/**
 * Calls `visit(t, spectrum)` for each frame t with the interleaved complex spectrum
 * (re, im for bins 0 .. N/2; the buffer is reused between calls).
 */
export function forEachFrame(x: Float32Array, p: StftParams, visit: (t: number, spec: Float64Array) => void): number {
  const { nFft, hopLength } = p;
  const win = hannWindow(p.winLength, nFft);
  const fft = fftOf(nFft);
  const frame = new Float64Array(nFft);
  const spec = new Float64Array(2 * nFft);
  const n = x.length;
  if (n === 0) throw new WavEmptyError('cannot analyse zero samples of audio');
  const half = nFft / 2;
  const T = frameCount(n, hopLength);
  for (let t = 0; t < T; t++) {
    const start = t * hopLength - half;
    if (start >= 0 && start + nFft <= n) {
      for (let i = 0; i < nFft; i++) frame[i] = x[start + i]! * win[i]!;
    } else {
      for (let i = 0; i < nFft; i++) frame[i] = x[reflectIndex(start + i, n)]! * win[i]!;
    }
    fft.realTransform(spec, frame);
    visit(t, spec);
  }
  return T;
}

/** Complex STFT: re and im, each [T, Fb]. */
export function stft(x: Float32Array, p: StftParams): { re: Float64Array; im: Float64Array; frames: number } {
  const fb = p.nFft / 2 + 1;
  const T = frameCount(x.length, p.hopLength);
  const re = new Float64Array(T * fb);
  const im = new Float64Array(T * fb);
  forEachFrame(x, p, (t, spec) => {
    const o = t * fb;
    for (let k = 0; k < fb; k++) {
      re[o + k] = spec[2 * k]!;
      im[o + k] = spec[2 * k + 1]!;
    }
  });
  return { re, im, frames: T };
}

/** Power spectrogram |X|^2, [T, Fb]. */
export function powerSpectrogram(x: Float32Array, p: StftParams): { power: Float64Array; frames: number } {
  const fb = p.nFft / 2 + 1;
  const power = new Float64Array(frameCount(x.length, p.hopLength) * fb);
  const frames = forEachFrame(x, p, (t, spec) => {
    const o = t * fb;
    for (let k = 0; k < fb; k++) power[o + k] = spec[2 * k]! ** 2 + spec[2 * k + 1]! ** 2;
  });
  return { power, frames };
}

/**
 * Least-squares inverse STFT (Griffin & Lim 1984): inverse FFT of each frame, window, overlap-add,
 * divide by the summed squared window, drop the centre padding, and cut or zero-pad to `length`.
 */
export function istft(re: Float64Array, im: Float64Array, frames: number, p: StftParams, length: number): Float32Array {
  const { nFft, hopLength } = p;
  const fb = nFft / 2 + 1;
  const win = hannWindow(p.winLength, nFft);
  const fft = fftOf(nFft);
  const half = nFft / 2;
  const total = nFft + hopLength * (frames - 1);
  const acc = new Float64Array(total);
  const norm = new Float64Array(total);
  const full = new Float64Array(2 * nFft);
  const time = new Float64Array(2 * nFft);
  for (let t = 0; t < frames; t++) {
    const o = t * fb;
    for (let k = 0; k < fb; k++) {
      full[2 * k] = re[o + k]!;
      full[2 * k + 1] = im[o + k]!;
    }
    for (let k = fb; k < nFft; k++) {
      // conjugate symmetry: X[N - k] = conj(X[k])
      full[2 * k] = re[o + nFft - k]!;
      full[2 * k + 1] = -im[o + nFft - k]!;
    }
    fft.inverseTransform(time, full);
    const s = t * hopLength;
    for (let i = 0; i < nFft; i++) {
      const w = win[i]!;
      acc[s + i]! += time[2 * i]! * w;
      norm[s + i]! += w * w;
    }
  }
  const out = new Float32Array(length);
  const n = Math.min(length, total - half);
  for (let i = 0; i < n; i++) {
    const z = norm[i + half]!;
    out[i] = z > 1e-11 ? acc[i + half]! / z : 0;
  }
  return out;
}
