import { describe, expect, it } from 'vitest';
import { MAX_LEVEL_RANGE_DB, SpeechTokenizer, TokenizerConfigError, fitLevel, resolveLevelRange, scaleAudio } from '@zipper/tokenizers';
import { speechLike } from './tone-helpers.js';

// a codebook trained on speech-like clips at one level: the level the fit should find again
const clips = Array.from({ length: 6 }, (_, i) => speechLike(12007 + 1000 * i, i + 11));
const tok = SpeechTokenizer.train(clips, { features: { nMels: 40 }, units: { numUnits: 48, stack: 2 }, seed: 3, iterations: 10 });

describe('SpeechTokenizer.quantize', () => {
  it('gives encode’s ids and the mean squared distance to the nearest centroid, as a brute force computes it', () => {
    const x = speechLike(9001, 99);
    const q = tok.quantize(x);
    expect(Array.from(q.ids)).toEqual(Array.from(tok.encode(x)));
    const v = tok.unitVectors(x);
    const D = v.dim;
    let sum = 0;
    for (let u = 0; u < v.frames; u++) {
      let best = Infinity;
      for (let k = 0; k < tok.units.numUnits; k++) {
        let d = 0;
        for (let j = 0; j < D; j++) d += (v.data[u * D + j]! - tok.centroids[k * D + j]!) ** 2;
        best = Math.min(best, d);
      }
      sum += best;
    }
    expect(q.meanSquaredDistance).toBeGreaterThan(0);
    expect(Math.abs(q.meanSquaredDistance - sum / v.frames) / (sum / v.frames)).toBeLessThan(1e-5); // float32 centroids, float64 sums
  });
});

describe('fitLevel', () => {
  it('fits 0 dB to audio at the codebook’s level and undoes a gain of -6 or +4 dB', () => {
    for (const x of clips) {
      expect(fitLevel(tok, x, 10).gainDb).toBe(0);
      expect(fitLevel(tok, scaleAudio(x, -6), 10).gainDb).toBe(6);
      expect(fitLevel(tok, scaleAudio(x, 4), 10).gainDb).toBe(-4);
    }
  });

  it('moves by the gain applied on audio it was not trained on', () => {
    const x = speechLike(13001, 77);
    const g = fitLevel(tok, x, 15).gainDb;
    expect(Math.abs(g)).toBeLessThanOrEqual(8); // away from the range's ends
    expect(fitLevel(tok, scaleAudio(x, -6), 15).gainDb).toBe(g + 6);
    expect(fitLevel(tok, scaleAudio(x, 5), 15).gainDb).toBe(g - 5);
  });

  it('keeps the fitted gain’s distance, never above the audio as is, and the audio and units at that gain', () => {
    const x = scaleAudio(clips[1]!, -7);
    const f = fitLevel(tok, x, 10);
    expect(f.asIs).toBe(tok.quantize(x).meanSquaredDistance);
    expect(f.meanSquaredDistance).toBe(tok.quantize(scaleAudio(x, f.gainDb)).meanSquaredDistance);
    expect(f.meanSquaredDistance).toBeLessThan(f.asIs);
    expect(Array.from(f.samples)).toEqual(Array.from(scaleAudio(x, f.gainDb)));
    expect(Array.from(f.ids)).toEqual(Array.from(tok.encode(f.samples)));
  });

  it('fits 0 within range 0, and to silence (every gain encodes it alike)', () => {
    const x = scaleAudio(clips[2]!, -6);
    expect(fitLevel(tok, x, 0)).toEqual({
      gainDb: 0,
      meanSquaredDistance: tok.quantize(x).meanSquaredDistance,
      asIs: tok.quantize(x).meanSquaredDistance,
      samples: x, // the input itself: nothing scaled
      ids: tok.encode(x),
    });
    expect(fitLevel(tok, new Float32Array(8000), 5).gainDb).toBe(0);
  });

  it('stops at the range: a gain of -9 dB fitted within 4 dB reads +4', () => {
    expect(fitLevel(tok, scaleAudio(clips[0]!, -9), 4).gainDb).toBe(4);
  });

  it('a one-sided range: turned up only, audio 4 dB louder stays as is and 6 dB quieter still fits +6', () => {
    const upOnly = { down: 0, up: 10 };
    for (const x of clips.slice(0, 3)) {
      expect(fitLevel(tok, scaleAudio(x, 4), upOnly).gainDb).toBe(0);
      expect(fitLevel(tok, scaleAudio(x, -6), upOnly).gainDb).toBe(6);
      expect(fitLevel(tok, scaleAudio(x, 4), { down: 2, up: 0 }).gainDb).toBe(-2); // stops at its end
    }
    expect(resolveLevelRange(7)).toEqual({ down: 7, up: 7 });
  });

  it('refuses a range that is not a whole number of dB in [0, 20], and a gain that is not finite', () => {
    for (const r of [-1, 1.5, MAX_LEVEL_RANGE_DB + 1, Number.NaN]) {
      expect(() => resolveLevelRange(r)).toThrow(TokenizerConfigError);
      expect(() => fitLevel(tok, clips[0]!, r)).toThrow(/level range/);
      expect(() => fitLevel(tok, clips[0]!, { down: r, up: 3 })).toThrow(/level range down must be an integer/);
    }
    expect(resolveLevelRange(MAX_LEVEL_RANGE_DB)).toEqual({ down: 20, up: 20 });
    expect(() => scaleAudio(clips[0]!, Number.POSITIVE_INFINITY)).toThrow(TokenizerConfigError);
  });
});

describe('scaleAudio', () => {
  it('multiplies every sample by 10^(dB / 20) into a new array', () => {
    const x = Float32Array.from([0.5, -0.25, 0, 0.9]);
    const y = scaleAudio(x, 6);
    expect(y).not.toBe(x);
    Array.from(y).forEach((v, i) => expect(v).toBeCloseTo(x[i]! * 1.9952623, 6));
    expect(Array.from(scaleAudio(x, 0))).toEqual(Array.from(x));
  });
});
