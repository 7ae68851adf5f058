/**
 * Reference Griffin-Lim (the straightforward loop over `stft` / `istft`, kept to check the fast
 * `griffinLim` against and to benchmark it: see test/speech-griffin-lim.test.ts and
 * tools/bench/vocoder.ts). Griffin-Lim phase reconstruction (Griffin & Lim 1984) with the "fast" momentum variant
 * (Perraudin, Balazs & Sondergaard 2013, as in librosa.griffinlim): from a magnitude
 * spectrogram, alternate between the consistent STFTs (istft then stft) and the set of
 * spectra with the target magnitude. Seeded random initial phase.
 *
 * Legend: T frames, Fb = nFft / 2 + 1 bins; spectra row-major [T, Fb].
 */
import type { LogMelConfig } from './config.js';
import { istft, stft } from './stft.js';
import { mulberry32 } from '@zipper/common';
import type { GriffinLimOptions } from './griffin-lim.js';

type StftParams = Pick<LogMelConfig, 'nFft' | 'winLength' | 'hopLength'>;

/** Audio of `length` samples whose STFT magnitude approximates `mag` ([T, Fb]). */
export function griffinLimReference(mag: Float64Array, frames: number, p: StftParams, length: number, o: GriffinLimOptions): Float32Array {
  const n = mag.length;
  const rand = mulberry32(o.seed);
  // unit phasors (angles), start random
  const ar = new Float64Array(n);
  const ai = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const phi = 2 * Math.PI * rand();
    ar[i] = Math.cos(phi);
    ai[i] = Math.sin(phi);
  }
  const sr = new Float64Array(n);
  const si = new Float64Array(n);
  let prevR: Float64Array = new Float64Array(n);
  let prevI: Float64Array = new Float64Array(n);
  const beta = o.momentum / (1 + o.momentum);
  for (let it = 0; it < o.iterations; it++) {
    for (let i = 0; i < n; i++) {
      sr[i] = mag[i]! * ar[i]!;
      si[i] = mag[i]! * ai[i]!;
    }
    const rebuilt = stft(istft(sr, si, frames, p, length), p);
    const rr = rebuilt.re;
    const ri = rebuilt.im;
    for (let i = 0; i < n; i++) {
      const zr = rr[i]! - beta * prevR[i]!;
      const zi = ri[i]! - beta * prevI[i]!;
      const norm = Math.hypot(zr, zi) + 1e-16;
      ar[i] = zr / norm;
      ai[i] = zi / norm;
    }
    prevR = rr;
    prevI = ri;
  }
  for (let i = 0; i < n; i++) {
    sr[i] = mag[i]! * ar[i]!;
    si[i] = mag[i]! * ai[i]!;
  }
  return istft(sr, si, frames, p, length);
}
