import { describe, expect, it } from 'vitest';
import FFT from 'fft.js';
import { mulberry32 } from '@zipper/common';
import { RealFft, SpeechTokenizer, TokenizerConfigError, frameCount, griffinLim, griffinLimReference, stft } from '../src/index.js';

const rms = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s / a.length);
};
const relRms = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return rms(d) / rms(b);
};

/** A voiced-like test signal: a few harmonics of a gliding pitch plus seeded noise. */
function testSignal(n: number, sr: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (110 + (90 * i) / n)) / sr;
    let v = 0;
    for (let h = 1; h <= 7; h++) v += Math.sin(h * phase) / h;
    x[i] = 0.3 * v * (0.6 + 0.4 * Math.sin((2 * Math.PI * i) / 3001)) + 0.02 * (rand() - 0.5);
  }
  return x;
}

describe('RealFft', () => {
  for (const N of [4, 16, 512]) {
    it(`forward equals fft.js realTransform, N = ${N}`, () => {
      const rand = mulberry32(N);
      const x = Float64Array.from({ length: N }, () => rand() - 0.5);
      const ref = new Float64Array(2 * N);
      new FFT(N).realTransform(ref, x);
      const re = new Float64Array(N / 2 + 3);
      const im = new Float64Array(N / 2 + 3);
      new RealFft(N).forward(x, re, im, 2);
      for (let k = 0; k <= N / 2; k++) {
        expect(re[2 + k]).toBeCloseTo(ref[2 * k]!, 12);
        expect(im[2 + k]).toBeCloseTo(ref[2 * k + 1]!, 12);
      }
    });
    it(`inverse equals the real part of fft.js's full complex inverse, N = ${N}`, () => {
      const rand = mulberry32(N + 1);
      const fb = N / 2 + 1;
      // bins 0 and N/2 get imaginary parts too: the real inverse must ignore them
      const re = Float64Array.from({ length: fb }, () => rand() - 0.5);
      const im = Float64Array.from({ length: fb }, () => rand() - 0.5);
      const full = new Float64Array(2 * N);
      for (let k = 0; k < fb; k++) [full[2 * k], full[2 * k + 1]] = [re[k]!, im[k]!];
      for (let k = fb; k < N; k++) [full[2 * k], full[2 * k + 1]] = [re[N - k]!, -im[N - k]!];
      const ref = new Float64Array(2 * N);
      new FFT(N).inverseTransform(ref, full);
      const x = new Float64Array(N);
      new RealFft(N).inverse(re, im, 0, x);
      for (let i = 0; i < N; i++) expect(x[i]).toBeCloseTo(ref[2 * i]!, 12);
    });
  }
  it('rejects a size that is not a power of two', () => {
    expect(() => new RealFft(12)).toThrow(TokenizerConfigError);
  });
});

describe('griffinLim (fast) vs griffinLimReference', () => {
  const cases = [
    { name: 'default STFT (512/400/160), 3.3 s', p: { nFft: 512, winLength: 400, hopLength: 160 }, n: 52_813, iterations: 16 },
    { name: 'small odd STFT (64/49/13)', p: { nFft: 64, winLength: 49, hopLength: 13 }, n: 1_301, iterations: 32 },
  ];
  for (const c of cases) {
    it(`${c.name}: same audio within 1e-4 relative RMS`, () => {
      const x = testSignal(c.n, 16000, 7);
      const s = stft(x, c.p);
      const mag = new Float64Array(s.re.length);
      for (let i = 0; i < mag.length; i++) mag[i] = Math.hypot(s.re[i]!, s.im[i]!);
      const length = (s.frames - 1) * c.p.hopLength;
      expect(frameCount(length, c.p.hopLength)).toBe(s.frames);
      const o = { iterations: c.iterations, momentum: 0.99, seed: 3 };
      const ref = griffinLimReference(mag, s.frames, c.p, length, o);
      const fast = griffinLim(mag, s.frames, c.p, length, o);
      expect(fast.length).toBe(ref.length);
      expect(rms(ref)).toBeGreaterThan(0.01);
      expect(relRms(fast, ref)).toBeLessThan(1e-4);
      // and it is a reconstruction, not noise: spectral convergence well below 1
      const back = stft(fast, c.p);
      let num = 0;
      let den = 0;
      for (let i = 0; i < mag.length; i++) {
        num += (Math.hypot(back.re[i]!, back.im[i]!) - mag[i]!) ** 2;
        den += mag[i]! ** 2;
      }
      expect(Math.sqrt(num / den)).toBeLessThan(0.5);
    });
  }
  it('zero iterations is the istft of the random-phase spectrum in both', () => {
    const p = { nFft: 32, winLength: 25, hopLength: 7 };
    const x = testSignal(301, 16000, 1);
    const s = stft(x, p);
    const mag = new Float64Array(s.re.length);
    for (let i = 0; i < mag.length; i++) mag[i] = Math.hypot(s.re[i]!, s.im[i]!);
    const o = { iterations: 0, momentum: 0.99, seed: 9 };
    // a length longer than the frames cover: zero-padded in both
    const ref = griffinLimReference(mag, s.frames, p, 330, o);
    expect(relRms(griffinLim(mag, s.frames, p, 330, o), ref)).toBeLessThan(1e-6);
  });
  it('rejects magnitudes of the wrong size', () => {
    expect(() =>
      griffinLim(new Float64Array(10), 3, { nFft: 8, winLength: 8, hopLength: 2 }, 4, { iterations: 1, momentum: 0, seed: 0 }),
    ).toThrow(TokenizerConfigError);
  });
});

describe("SpeechTokenizer.unitMagnitudes (the decode path's memoised mel inversion)", () => {
  const rand = mulberry32(11);
  const K = 7;
  const stack = 2;
  const centroids = Float32Array.from({ length: K * stack * 40 }, () => -6 + 7 * rand());
  const ids = [3, 3, 0, 6, 3, 5, 0, 0, 2];
  for (const inversion of ['nnls', 'pinv'] as const) {
    it(`${inversion}: equals logMelToMagnitude(unitsToLogMel(ids)) exactly, cold and warm`, () => {
      const tok = new SpeechTokenizer({
        features: { nMels: 40 },
        units: { numUnits: K, stack },
        vocoder: { inversion, nnlsIterations: 13 },
        centroids,
      });
      const ref = tok.logMelToMagnitude(tok.unitsToLogMel(ids));
      expect(ref.length).toBe(ids.length * stack * 257);
      expect(tok.unitMagnitudes(ids)).toEqual(ref);
      expect(tok.unitMagnitudes(ids)).toEqual(ref);
      // another NNLS setting is not served from the first one's memo
      const v = { ...tok.vocoder, nnlsIterations: 2 };
      expect(tok.unitMagnitudes(ids, v)).toEqual(tok.logMelToMagnitude(tok.unitsToLogMel(ids), v));
    });
  }
  it('decode uses it: the same audio as mel inversion + griffinLimReference', () => {
    const tok = new SpeechTokenizer({
      features: { nMels: 40 },
      units: { numUnits: K, stack },
      vocoder: { griffinLimIterations: 8 },
      centroids,
    });
    const f = tok.unitsToLogMel(ids);
    const length = (f.frames - 1) * 160;
    const ref = griffinLimReference(tok.logMelToMagnitude(f), f.frames, tok.features, length, {
      iterations: 8,
      momentum: tok.vocoder.momentum,
      seed: 0,
    });
    expect(relRms(tok.decode(ids), ref)).toBeLessThan(1e-4);
  });
});
