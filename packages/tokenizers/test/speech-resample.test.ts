import { describe, expect, it } from 'vitest';
import { resample } from '@zipper/tokenizers';
import { amplitudeAt, tone } from './tone-helpers.js';

describe('resample (Kaiser-windowed sinc)', () => {
  it('44.1 kHz -> 16 kHz keeps an in-band tone at its amplitude and frequency', () => {
    const y = resample(tone(44100, 44100, 1000), 44100, 16000);
    expect(y.length).toBe(16000);
    expect(amplitudeAt(y, 16000, 1000)).toBeCloseTo(0.5, 3);
  });

  it('44.1 kHz -> 16 kHz removes a 10 kHz tone that would alias to 6 kHz (> 60 dB down)', () => {
    const y = resample(tone(44100, 44100, 10000), 44100, 16000);
    let rms = 0;
    for (let i = 2000; i < 14000; i++) rms += y[i]! ** 2;
    rms = Math.sqrt(rms / 12000);
    expect(rms).toBeLessThan(0.5 * 1e-3); // the tone's own RMS is 0.35; aliasing would leave ~0.35 at 6 kHz
    expect(amplitudeAt(y, 16000, 6000)).toBeLessThan(5e-4);
  });

  it('8 kHz -> 16 kHz upsampling interpolates a tone without imaging', () => {
    const y = resample(tone(8000, 8000, 1500), 8000, 16000);
    expect(y.length).toBe(16000);
    expect(amplitudeAt(y, 16000, 1500)).toBeCloseTo(0.5, 3);
    expect(amplitudeAt(y, 16000, 6500)).toBeLessThan(5e-4); // the image of 1.5 kHz at 8 - 1.5 kHz
  });

  it('odd ratios give round(n * to / from) samples; equal rates copy', () => {
    expect(resample(new Float32Array(1013), 22050, 16000).length).toBe(Math.round((1013 * 16000) / 22050));
    const x = tone(11, 7, 1);
    const y = resample(x, 7, 7);
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(y).not.toBe(x);
  });
});
