/** Phase gradient heap integration (pghi.ts) as Griffin-Lim's starting phase. */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@zipper/common';
import { DEFAULT_LOG_MEL, TokenizerConfigError, griffinLim, pghiPhase, resolveVocoderConfig, stft } from '../src/index.js';

const p = DEFAULT_LOG_MEL; // nFft 512, Hann 400, hop 160: the tokenizer's STFT
const fb = p.nFft / 2 + 1;

/** A voiced-like signal: harmonics of a gliding pitch, a slow envelope, seeded noise. */
function testSignal(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (110 + (90 * i) / n)) / p.sampleRate;
    let v = 0;
    for (let h = 1; h <= 7; h++) v += Math.sin(h * phase) / h;
    x[i] = 0.3 * v * (0.6 + 0.4 * Math.sin((2 * Math.PI * i) / 3001)) + 0.02 * (rand() - 0.5);
  }
  return x;
}

function magnitudes(x: Float32Array): { mag: Float64Array; frames: number } {
  const s = stft(x, p);
  const mag = new Float64Array(s.frames * fb);
  for (let i = 0; i < mag.length; i++) mag[i] = Math.hypot(s.re[i]!, s.im[i]!);
  return { mag, frames: s.frames };
}

/** Spectral convergence in dB: how far the STFT magnitude of y is from the target. */
function spectralConvergence(target: Float64Array, y: Float32Array): number {
  const { mag } = magnitudes(y);
  let num = 0;
  let den = 0;
  for (let i = 0; i < target.length; i++) {
    num += (mag[i]! - target[i]!) ** 2;
    den += target[i]! ** 2;
  }
  return 10 * Math.log10(num / den);
}

const wrap = (a: number): number => a - 2 * Math.PI * Math.round(a / (2 * Math.PI));

describe('pghiPhase', () => {
  const x = testSignal(16000, 1);
  const { mag, frames } = magnitudes(x);
  const length = (frames - 1) * p.hopLength;
  const run = (init: 'random' | 'pghi', iterations: number) =>
    spectralConvergence(mag, griffinLim(mag, frames, p, length, { iterations, momentum: 0.99, seed: 0, init }));

  it('gives a consistent spectrogram with no iteration, where random phase does not', () => {
    const pghi0 = run('pghi', 0);
    const random0 = run('random', 0);
    expect(pghi0).toBeLessThan(-15);
    expect(random0).toBeGreaterThan(-8);
  });

  it('with 8 Griffin-Lim iterations beats random phase with 48', () => {
    expect(run('pghi', 8)).toBeLessThan(run('random', 48));
  });

  it("matches the true STFT phase's frame-to-frame advance at a steady sinusoid's peak", () => {
    const k0 = 40; // a bin-centred frequency: 40 * 16000 / 512 = 1250 Hz
    const sine = Float32Array.from({ length: 8000 }, (_, i) => Math.cos((2 * Math.PI * k0 * i) / p.nFft + 0.3));
    const s = stft(sine, p);
    const m = new Float64Array(s.frames * fb);
    for (let i = 0; i < m.length; i++) m[i] = Math.hypot(s.re[i]!, s.im[i]!);
    const phase = pghiPhase(m, s.frames, p, { seed: 0 });
    let worst = 0;
    for (let t = 5; t + 1 < s.frames - 5; t++)
      for (const k of [k0 - 1, k0, k0 + 1]) {
        const i = t * fb + k;
        const truth = Math.atan2(s.im[i + fb]!, s.re[i + fb]!) - Math.atan2(s.im[i]!, s.re[i]!);
        worst = Math.max(worst, Math.abs(wrap(phase[i + fb]! - phase[i]! - truth)));
      }
    expect(worst).toBeLessThan(0.05);
  });

  it('is deterministic, and rejects magnitudes of the wrong size', () => {
    expect(pghiPhase(mag, frames, p, { seed: 3 })).toEqual(pghiPhase(mag, frames, p, { seed: 3 }));
    expect(() => pghiPhase(mag.subarray(1), frames, p, { seed: 0 })).toThrow(TokenizerConfigError);
    expect(() => pghiPhase(mag, frames, p, { seed: 0, tol: 1 })).toThrow(TokenizerConfigError);
  });

  it('is a vocoder setting: phaseInit defaults to random and is validated', () => {
    expect(resolveVocoderConfig().phaseInit).toBe('random');
    expect(resolveVocoderConfig({ phaseInit: 'pghi' }).phaseInit).toBe('pghi');
    expect(() => resolveVocoderConfig({ phaseInit: 'zero' as never })).toThrow(TokenizerConfigError);
    expect(() => griffinLim(mag, frames, p, length, { iterations: 1, momentum: 0, seed: 0, init: 'zero' as never })).toThrow(
      TokenizerConfigError,
    );
  });
});
