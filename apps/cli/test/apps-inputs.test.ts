// The apps' input handling without a model: text normalized as the training text was, unknown
// characters dropped and named, sentences split and long ones cut into near-equal parts; audio
// checked and cut at its quietest unit.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeWav } from '@zipper/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { atRate, readAudioInput, splitUnits } from '../src/apps/audio-input.js';
import { describeDropped, MAX_CHUNK_WORDS, speechText, textLines } from '../src/apps/text-input.js';
import { UsageError } from '../src/command.js';
import { normalizeSentence } from '../src/data/normalize.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-apps-inputs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('speechText', () => {
  it('equals the data builder on sentences the builder keeps', () => {
    let compared = 0;
    for (const s of [
      'In 1611, the 3rd edition cost £2.50 & sold 1,000 copies.',
      "Don't stop: it's 7 o'clock!",
      'The café served crème brûlée at 5%.',
    ]) {
      const want = normalizeSentence(s);
      if (want === null) continue; // rejected by the builder (the pound sign): the next test
      expect(speechText(s).chunks).toEqual([want]);
      compared++;
    }
    expect(compared).toBe(2);
    expect(speechText("Don't stop: it's 7 o'clock!").chunks).toEqual(["don't stop it's seven o'clock"]);
  });

  it('drops what the builder rejects, and names it once, in order', () => {
    const t = speechText('Mail me @ home <now> 🙂, £5 or ~5 €; the end 🙂');
    expect(t.chunks).toEqual(['mail me home now five or five', 'the end']);
    expect(t.dropped).toEqual(['@', '<', '>', '🙂', '£', '~', '€']);
    expect(describeDropped(t.dropped)).toBe('"@", "<", ">", U+1F642, U+00A3, "~", U+20AC');
  });

  it('splits sentences after . ! ? ; and line breaks whatever the case, and long ones into parts of at most 24 words', () => {
    expect(speechText('one fish. two fish! red fish? blue fish; the end\nnew line').chunks).toEqual([
      'one fish',
      'two fish',
      'red fish',
      'blue fish',
      'the end',
      'new line',
    ]);
    const words = Array.from({ length: 61 }, (_, i) => `w${'abcdefghijklmnopqrstuvwxyz'[i % 26]}`);
    const parts = speechText(words.join(' ')).chunks.map((c) => c.split(' ').length);
    expect(parts).toEqual([21, 20, 20]); // 61 words: ceil(61 / 24) = 3 parts, as equal as possible
    expect(Math.max(...parts)).toBeLessThanOrEqual(MAX_CHUNK_WORDS);
  });

  it('refuses empty text, text with no word, and more than 1000 characters', () => {
    expect(() => speechText('')).toThrow(UsageError);
    expect(() => speechText(' ... !!! ')).toThrow(/holds no word to speak; give English words/);
    expect(() => speechText('@#$')).toThrow(/holds no word to speak \(dropped "@", "#", "\$"\)/);
    expect(() => speechText('a'.repeat(1001))).toThrow(/1001 characters, above the limit of 1000/);
    expect(speechText('a'.repeat(1000)).chunks).toEqual(['a'.repeat(1000)]);
  });

  it('textLines: numbered from 1, blank lines skipped, a bad line named', () => {
    expect(textLines('first line\r\n\r\n  \nthird one\n', 'f.txt').map((l) => [l.line, l.text.chunks])).toEqual([
      [1, ['first line']],
      [4, ['third one']],
    ]);
    expect(() => textLines('ok\n$$$\n', 'f.txt')).toThrow(/line 2 of f\.txt holds no word/);
    expect(textLines('ok\n%%%\n', 'f.txt')[1]!.text.chunks).toEqual(['percent percent percent']); // spelled, as in the data
    expect(() => textLines('\n\n', 'f.txt')).toThrow(/no non-blank line/);
  });
});

describe('audio input', () => {
  it('splitUnits cuts each piece at its quietest unit in the second half', () => {
    const spu = 320;
    const n = 25; // units
    const samples = Float32Array.from({ length: n * spu }, (_, i) => (Math.floor(i / spu) === 13 ? 0 : 0.5 * Math.sin(i / 3)));
    const units = Uint16Array.from({ length: n }, (_, i) => i);
    const pieces = splitUnits(units, samples, spu, 17);
    expect(pieces.map((p) => Array.from(p))).toEqual([
      Array.from({ length: 14 }, (_, i) => i), // units 0-13: cut after the silent unit 13
      Array.from({ length: 11 }, (_, i) => 14 + i),
    ]);
    expect(splitUnits(units, samples, spu, 25)).toHaveLength(1);
    // no silence: every piece still fits
    const loud = Float32Array.from({ length: 100 * spu }, (_, i) => 0.5 * Math.sin(i / 3) + 0.01 * (i % 7));
    const all = Uint16Array.from({ length: 100 }, (_, i) => i);
    const cut = splitUnits(all, loud, spu, 17);
    expect(cut.every((p) => p.length <= 17)).toBe(true);
    expect(cut.slice(0, -1).every((p) => p.length >= 9)).toBe(true); // cut in the second half of each full piece
    expect(cut.reduce((s, p) => s + p.length, 0)).toBe(100);
  });

  it('reads any rate and channel count, mixes to mono at 16 kHz; refuses non-WAV, too long, too short', () => {
    const stereo = path.join(tmp, 'stereo.wav');
    const x = Float32Array.from({ length: 44100 }, (_, i) => 0.3 * Math.sin(i / 10));
    writeFileSync(stereo, writeWav([x, x], 44100, 'float32'));
    const a = atRate(readAudioInput(stereo), 16000);
    expect(a.seconds).toBe(1);
    expect(a.samples.length).toBe(16000);
    writeFileSync(path.join(tmp, 'x.wav'), 'fLaC\0\0\0\0');
    expect(() => readAudioInput(path.join(tmp, 'x.wav'))).toThrow(/x\.wav is not a WAV file zipper can read: .*FLAC/);
    writeFileSync(path.join(tmp, 'long.wav'), writeWav(new Float32Array(8000 * 31), 8000));
    expect(() => readAudioInput(path.join(tmp, 'long.wav'))).toThrow(/31\.0 s long, above the limit of 30 s/);
    writeFileSync(path.join(tmp, 'short.wav'), writeWav(new Float32Array(100), 16000));
    expect(() => readAudioInput(path.join(tmp, 'short.wav'))).toThrow(/0\.006 s of audio, below 0\.1 s/);
  });
});
