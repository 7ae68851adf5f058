/** Test signals: a pure tone and the amplitude of one frequency in a signal. */

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
