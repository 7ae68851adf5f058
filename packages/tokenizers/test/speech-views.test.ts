import { describe, expect, it } from 'vitest';
import { AUDIO_VIEWS, audioViews, IDENTITY_VIEW, resample, resolveAudioView, TokenizerConfigError, viewAudio } from '@zipper/tokenizers';
import { amplitudeAt, tone } from './tone-helpers.js';

const SR = 16000;

describe('audio views', () => {
  const x = tone(SR, SR, 1000).map((v, i) => v + 0.01 * Math.sin(i * 0.37));

  it('the identity is a copy, bit for bit', () => {
    const y = viewAudio(x, IDENTITY_VIEW);
    expect(y).not.toBe(x);
    expect(Array.from(y)).toEqual(Array.from(x));
  });

  it('a shift puts that many zeros before the same samples', () => {
    const y = viewAudio(x, { shift: 80, speed: 1 });
    expect(y.length).toBe(x.length + 80);
    expect(Array.from(y.subarray(0, 80))).toEqual(new Array<number>(80).fill(0));
    expect(Array.from(y.subarray(80))).toEqual(Array.from(x));
  });

  it('a speed plays the audio faster: round(n / speed) samples, a 1 kHz tone at 1.03 kHz', () => {
    const y = viewAudio(tone(SR, SR, 1000), { shift: 0, speed: 1.03 });
    expect(y.length).toBe(Math.round(SR / 1.03));
    expect(amplitudeAt(y, SR, 1030)).toBeCloseTo(0.5, 2);
    expect(amplitudeAt(y, SR, 1000)).toBeLessThan(0.05);
    const slow = viewAudio(tone(SR, SR, 1000), { shift: 0, speed: 0.97 });
    expect(slow.length).toBe(Math.round(SR / 0.97));
    expect(amplitudeAt(slow, SR, 970)).toBeCloseTo(0.5, 2);
  });

  it('speed then shift: the resampled audio after the zeros', () => {
    const y = viewAudio(x, { shift: 40, speed: 0.97 });
    const r = resample(x, 0.97 * SR, SR);
    expect(y.length).toBe(40 + r.length);
    expect(Array.from(y.subarray(40))).toEqual(Array.from(r));
  });

  it('the ladder starts at the identity; audioViews(k) is its first k', () => {
    expect(AUDIO_VIEWS[0]).toEqual(IDENTITY_VIEW);
    expect(audioViews(3)).toEqual(AUDIO_VIEWS.slice(0, 3));
    expect(audioViews(AUDIO_VIEWS.length).length).toBe(AUDIO_VIEWS.length);
    for (const v of AUDIO_VIEWS) expect(resolveAudioView(v)).toEqual(v);
    expect(new Set(AUDIO_VIEWS.map((v) => `${v.shift}:${v.speed}`)).size).toBe(AUDIO_VIEWS.length);
  });

  it('refuses views that are not small changes of the audio', () => {
    expect(() => audioViews(0)).toThrow(TokenizerConfigError);
    expect(() => audioViews(AUDIO_VIEWS.length + 1)).toThrow(/number of views/);
    expect(() => audioViews(2.5)).toThrow(TokenizerConfigError);
    expect(() => resolveAudioView({ shift: -1 })).toThrow(/shift/);
    expect(() => resolveAudioView({ shift: 1.5 })).toThrow(/shift/);
    expect(() => resolveAudioView({ speed: 2 })).toThrow(/speed/);
    expect(() => resolveAudioView({ speed: Number.NaN })).toThrow(/speed/);
    expect(() => viewAudio(x, { shift: 0, speed: 0 })).toThrow(TokenizerConfigError);
  });
});
