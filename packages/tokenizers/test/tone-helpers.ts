/** Test signals: a pure tone, speech-like audio and the amplitude of one frequency in a signal. */
import { mulberry32 } from '@zipper/common';

const SR = 16000;

/** n samples of amp * sin(2 pi f t) at `sr` Hz. */
export const tone = (n: number, sr: number, f: number, amp = 0.5): Float32Array =>
  new Float32Array(n).map((_, i) => amp * Math.sin((2 * Math.PI * f * i) / sr));

/** Amplitude of frequency f in x (least-squares fit of sin + cos over the middle of the signal). */
export function amplitudeAt(x: Float32Array, sr: number, f: number): number {
  let s = 0;
  let c = 0;
  const lo = Math.floor(x.length / 4);
  const hi = Math.floor((3 * x.length) / 4);
  for (let i = lo; i < hi; i++) {
    s += x[i]! * Math.sin((2 * Math.PI * f * i) / sr);
    c += x[i]! * Math.cos((2 * Math.PI * f * i) / sr);
  }
  return (2 * Math.hypot(s, c)) / (hi - lo);
}

/**
 * Speech-like test audio: a harmonic source (f0 gliding 100-220 Hz) through two moving resonances,
 * with short silences and noise bursts, all from a seed.
 */
export function speechLike(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const x = new Float32Array(n);
  const segs = 3 + Math.floor(r() * 3);
  let phase = 0;
  for (let s = 0; s < segs; s++) {
    const lo = Math.floor((s * n) / segs);
    const hi = Math.floor(((s + 1) * n) / segs);
    const f0 = 100 + 120 * r();
    const fA = 300 + 700 * r();
    const fB = 900 + 1800 * r();
    const kind = r();
    for (let i = lo; i < hi; i++) {
      const t = (i - lo) / (hi - lo);
      const env = Math.sin(Math.PI * t) ** 2;
      if (kind < 0.2) continue; // silence
      if (kind < 0.35) {
        x[i] = 0.05 * env * (r() * 2 - 1); // fricative-like noise
        continue;
      }
      const f = f0 * (1 + 0.3 * t);
      phase += (2 * Math.PI * f) / SR;
      let v = 0;
      for (let h = 1; h * f < 7000; h++) {
        const fh = h * f;
        const gain = 1 / (1 + ((fh - fA * (1 + 0.2 * t)) / 150) ** 2) + 0.5 / (1 + ((fh - fB) / 250) ** 2);
        v += gain * Math.sin(h * phase);
      }
      x[i] = 0.1 * env * v;
    }
  }
  return x;
}
