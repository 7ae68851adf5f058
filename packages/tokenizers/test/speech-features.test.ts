import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  frameCount,
  hannWindow,
  hzToMel,
  istft,
  logMel,
  melFilterbank,
  melToHz,
  powerSpectrogram,
  resolveLogMelConfig,
  stft,
  type LogMelConfig,
} from '@zipper/tokenizers';

interface GoldenCase {
  name: string;
  config: LogMelConfig;
  samples: number;
  frames: number;
  filterbank: number[];
  power_frame3: number[];
  logmel: number[];
}
const golden = JSON.parse(readFileSync(new URL('./golden/speech-logmel.json', import.meta.url), 'utf8')) as { cases: GoldenCase[] };

/** The closed-form test signal of tools/speech/golden-logmel.py. */
function signal(n: number, sr: number): Float32Array {
  const x = new Float32Array(n);
  const f1 = sr / 3;
  const dur = n / sr;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const chirp = Math.sin(2 * Math.PI * (100 * t + ((f1 - 100) * t * t) / (2 * dur)));
    x[i] = 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.25 * Math.sin(2 * Math.PI * 1234.5 * t + 0.3) + 0.1 * chirp;
  }
  return x;
}

describe('log-mel vs torch.stft golden values (tools/speech/golden-logmel.py)', () => {
  for (const g of golden.cases) {
    it(`${g.name}: filterbank, power spectrum and log-mel match`, () => {
      const c = resolveLogMelConfig(g.config);
      const fb = melFilterbank(c);
      expect(fb.weights.length).toBe(g.filterbank.length);
      let maxFb = 0;
      fb.weights.forEach((w, i) => (maxFb = Math.max(maxFb, Math.abs(w - g.filterbank[i]!))));
      expect(maxFb).toBeLessThan(1e-7);

      const x = signal(g.samples, c.sampleRate);
      const { power, frames } = powerSpectrogram(x, c);
      expect(frames).toBe(g.frames);
      const fbins = c.nFft / 2 + 1;
      const peak = Math.max(...g.power_frame3);
      for (let k = 0; k < fbins; k++) expect(Math.abs(power[3 * fbins + k]! - g.power_frame3[k]!)).toBeLessThan(1e-4 * peak + 1e-6);

      const f = logMel(x, c);
      expect([f.frames, f.dim]).toEqual([g.frames, c.nMels]);
      let maxErr = 0;
      f.data.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - g.logmel[i]!))));
      expect(maxErr).toBeLessThan(2e-3); // float32 input vs float64 reference, in natural-log units
    });
  }
});

describe('analytic checks', () => {
  it('a pure sine lands in the mel band centred on its frequency, with the predicted energy', () => {
    const c = resolveLogMelConfig({ sampleRate: 16000, nFft: 512, winLength: 512, hopLength: 128, nMels: 40 });
    const fb = melFilterbank(c);
    // pick band 17's centre and snap it to an FFT bin so the Hann main lobe is centred on it
    const centreHz = melToHz(hzToMel(0) + ((hzToMel(8000) - hzToMel(0)) * 18) / 41);
    const bin = Math.round((centreHz * c.nFft) / c.sampleRate);
    const f0 = (bin * c.sampleRate) / c.nFft;
    const amp = 0.3;
    const x = new Float32Array(16000).map((_, i) => amp * Math.sin((2 * Math.PI * f0 * i) / c.sampleRate));
    const f = logMel(x, c);
    const t = 50; // a frame away from the edges
    const row = Array.from(f.data.subarray(t * 40, t * 40 + 40));
    const best = row.indexOf(Math.max(...row));
    expect(Math.abs(best - 17)).toBeLessThanOrEqual(1);
    // Hann window (periodic, N = 512): a bin-centred sine gives |X[bin]| = amp N / 4 and
    // |X[bin +- 1]| = amp N / 8; the band's energy is the filter-weighted sum of those powers.
    const a = (amp * c.nFft) / 4;
    let expected = 0;
    for (const [dk, mag] of [
      [-1, a / 2],
      [0, a],
      [1, a / 2],
    ] as const)
      expected += fb.weights[best * fb.nBins + bin + dk]! * mag * mag;
    expect(Math.abs(Math.exp(row[best]!) / expected - 1)).toBeLessThan(1e-3);
  });

  it('silence sits at the log floor', () => {
    const c = resolveLogMelConfig({ nMels: 13, logFloor: 1e-4 });
    const f = logMel(new Float32Array(1601), c);
    expect(f.frames).toBe(frameCount(1601, c.hopLength));
    for (const v of f.data) expect(v).toBeCloseTo(Math.log(1e-4), 6);
  });

  it('istft(stft(x)) reconstructs x (overlap-add with the squared-window normalisation)', () => {
    const c = resolveLogMelConfig({ nFft: 256, winLength: 203, hopLength: 67 });
    const x = signal(1999, 8000);
    const s = stft(x, c);
    const y = istft(s.re, s.im, s.frames, c, x.length);
    let err = 0;
    for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs(x[i]! - y[i]!));
    expect(err).toBeLessThan(1e-5);
  });

  it('the Hann window is periodic, centred and zero-padded', () => {
    const w = hannWindow(7, 11);
    expect(w[0]).toBe(0);
    expect(w[1]).toBe(0); // pad of (11 - 7) / 2 = 2 on the left
    expect(w[2]).toBeCloseTo(0, 12); // window starts at 0
    expect(w[2 + 7]).toBe(0); // padding on the right
    expect(w[10]).toBe(0);
    expect(w[2 + 3]).toBeCloseTo(0.5 - 0.5 * Math.cos((2 * Math.PI * 3) / 7), 12);
  });

  it('config validation names the broken invariant', () => {
    expect(() => resolveLogMelConfig({ nFft: 500 })).toThrow(/power of two/);
    expect(() => resolveLogMelConfig({ winLength: 1024 })).toThrow(/winLength \(1024\) must be <= nFft/);
    expect(() => resolveLogMelConfig({ fMax: 9000 })).toThrow(/fMax/);
  });
});
