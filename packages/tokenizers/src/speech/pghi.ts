/**
 * Phase Gradient Heap Integration (Průša, Balazs & Søndergaard 2017, "A Noniterative Method for
 * Reconstruction of Phase From STFT Magnitude"): a phase for a magnitude spectrogram without
 * iterations, used as Griffin-Lim's starting point instead of random phase.
 *
 * For a Gaussian window g(t) = exp(-pi t^2 / gamma) the STFT phase gradient follows from the
 * gradient of the log-magnitude s = log |X| (per frame t, per bin k; hop a, FFT size N):
 *   along time (instantaneous frequency)   dphi/dt = (a N / gamma) ds/dk + 2 pi a k / N
 *   along frequency (local group delay)    dphi/dk = -(gamma / (a N)) ds/dt
 * with the phase measured from each window's centre. A Hann window of length L is close to the
 * Gaussian with gamma = 0.25645 L^2 (the paper's fit). The phase is then integrated over the
 * time-frequency grid from the largest coefficient outwards (a max-heap on magnitude, trapezoidal
 * steps to the four neighbours), so each step starts where the estimate is most reliable.
 * Coefficients below `tol` times the largest get a seeded random phase.
 *
 * Our frames put the FFT origin N/2 samples before the window's centre (stft.ts, centred
 * frames), so the returned phase is the centred one minus pi k.
 *
 * Legend: T frames, N = nFft, Fb = N / 2 + 1 bins; arrays row-major [T, Fb].
 */
import { mulberry32 } from '@zipper/common';
import { TokenizerConfigError } from '../errors.js';
import type { LogMelConfig } from './config.js';

/** gamma / L^2 of the Gaussian nearest to a Hann window of length L (Průša et al. 2017). */
export const HANN_GAMMA_PER_LENGTH_SQUARED = 0.25645;

export interface PghiOptions {
  /** Coefficients below tol x the largest magnitude get a random phase (default 1e-5). */
  readonly tol?: number;
  /** Seed of those random phases. */
  readonly seed: number;
}

type StftParams = Pick<LogMelConfig, 'nFft' | 'winLength' | 'hopLength'>;

/** Phase [T, Fb] (radians) for the magnitudes `mag` [T, Fb] of our STFT. */
export function pghiPhase(mag: Float64Array, frames: number, p: StftParams, o: PghiOptions): Float64Array {
  const { nFft: N, hopLength: a } = p;
  const fb = N / 2 + 1;
  const n = frames * fb;
  if (mag.length !== n)
    throw new TokenizerConfigError(
      `pghiPhase: magnitudes hold ${mag.length} values, expected frames x (nFft / 2 + 1) = ${frames} x ${fb} = ${n}`,
    );
  const tol = o.tol ?? 1e-5;
  if (!(tol >= 0 && tol < 1)) throw new TokenizerConfigError(`pghiPhase: tol must be in [0, 1), got ${tol}`);
  const gamma = HANN_GAMMA_PER_LENGTH_SQUARED * p.winLength * p.winLength;
  let max = 0;
  for (let i = 0; i < n; i++) if (mag[i]! > max) max = mag[i]!;
  const phase = new Float64Array(n);
  if (n === 0 || max === 0) return phase;

  const logs = new Float64Array(n);
  const floor = max * 1e-12;
  for (let i = 0; i < n; i++) logs[i] = Math.log(Math.max(mag[i]!, floor));
  // dphi/dt (tgrad) and dphi/dk (fgrad) at each coefficient, from centred differences (one-sided at the edges)
  const tgrad = new Float64Array(n);
  const fgrad = new Float64Array(n);
  const tScale = (a * N) / gamma;
  const fScale = -gamma / (a * N);
  for (let t = 0; t < frames; t++) {
    const tp = Math.min(t + 1, frames - 1);
    const tm = Math.max(t - 1, 0);
    for (let k = 0; k < fb; k++) {
      const kp = Math.min(k + 1, fb - 1);
      const km = Math.max(k - 1, 0);
      const ds = tp - tm > 0 ? (logs[tp * fb + k]! - logs[tm * fb + k]!) / (tp - tm) : 0;
      const dk = kp - km > 0 ? (logs[t * fb + kp]! - logs[t * fb + km]!) / (kp - km) : 0;
      tgrad[t * fb + k] = tScale * dk + (2 * Math.PI * a * k) / N;
      fgrad[t * fb + k] = fScale * ds;
    }
  }

  const rand = mulberry32(o.seed);
  const done = new Uint8Array(n);
  const limit = tol * max;
  for (let i = 0; i < n; i++)
    if (mag[i]! <= limit) {
      done[i] = 1;
      phase[i] = 2 * Math.PI * rand();
    }
  // integrate from the largest coefficient not yet reached, once per connected region: each
  // frame keeps its largest unreached coefficient, re-found only after it has been reached
  const heap = new MaxHeap(n);
  const frameBest = new Int32Array(frames);
  const rescan = (t: number): void => {
    let best = -1;
    for (let i = t * fb; i < (t + 1) * fb; i++) if (!done[i] && (best < 0 || mag[i]! > mag[best]!)) best = i;
    frameBest[t] = best;
  };
  for (let t = 0; t < frames; t++) rescan(t);
  const nextSeed = (): number => {
    let best = -1;
    for (let t = 0; t < frames; t++) {
      if (frameBest[t]! >= 0 && done[frameBest[t]!]) rescan(t);
      const c = frameBest[t]!;
      if (c >= 0 && (best < 0 || mag[c]! > mag[best]!)) best = c;
    }
    return best;
  };
  for (let seed = nextSeed(); seed >= 0; seed = nextSeed()) {
    done[seed] = 1;
    phase[seed] = 0;
    heap.push(seed, mag[seed]!);
    while (heap.size > 0) {
      const i = heap.pop();
      const t = (i / fb) | 0;
      const k = i - t * fb;
      // trapezoidal steps to the neighbours not reached yet
      if (t + 1 < frames && !done[i + fb]) {
        phase[i + fb] = phase[i]! + (tgrad[i]! + tgrad[i + fb]!) / 2;
        done[i + fb] = 1;
        heap.push(i + fb, mag[i + fb]!);
      }
      if (t > 0 && !done[i - fb]) {
        phase[i - fb] = phase[i]! - (tgrad[i]! + tgrad[i - fb]!) / 2;
        done[i - fb] = 1;
        heap.push(i - fb, mag[i - fb]!);
      }
      if (k + 1 < fb && !done[i + 1]) {
        phase[i + 1] = phase[i]! + (fgrad[i]! + fgrad[i + 1]!) / 2;
        done[i + 1] = 1;
        heap.push(i + 1, mag[i + 1]!);
      }
      if (k > 0 && !done[i - 1]) {
        phase[i - 1] = phase[i]! - (fgrad[i]! + fgrad[i - 1]!) / 2;
        done[i - 1] = 1;
        heap.push(i - 1, mag[i - 1]!);
      }
    }
  }
  // the window's centre sits N/2 samples after our frame's FFT origin: exp(-2 pi i k (N/2) / N) = exp(-i pi k)
  for (let t = 0; t < frames; t++) for (let k = 0; k < fb; k++) phase[t * fb + k]! -= Math.PI * k;
  return phase;
}

/** A binary max-heap of indices by key, the keys stored beside the indices (no indirection). */
class MaxHeap {
  private readonly items: Int32Array;
  private readonly keys: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
  }

  push(i: number, key: number): void {
    const { items, keys } = this;
    let c = this.size++;
    while (c > 0) {
      const parent = (c - 1) >> 1;
      if (keys[parent]! >= key) break;
      items[c] = items[parent]!;
      keys[c] = keys[parent]!;
      c = parent;
    }
    items[c] = i;
    keys[c] = key;
  }

  pop(): number {
    const { items, keys } = this;
    const top = items[0]!;
    const n = --this.size;
    const last = items[n]!;
    const lastKey = keys[n]!;
    let c = 0;
    for (;;) {
      let child = 2 * c + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1]! > keys[child]!) child++;
      if (keys[child]! <= lastKey) break;
      items[c] = items[child]!;
      keys[c] = keys[child]!;
      c = child;
    }
    if (n > 0) {
      items[c] = last;
      keys[c] = lastKey;
    }
    return top;
  }
}
