import { describe, expect, it } from 'vitest';
import * as wavefileModule from 'wavefile';
import {
  MAX_WAV_SAMPLE_RATE,
  MIN_WAV_SAMPLE_RATE,
  TokenizerError,
  WavEmptyError,
  WavEncodingError,
  type WavError,
  WavFormatError,
  WavSampleError,
  WavSampleRateError,
  WavTooLargeError,
  WavTruncatedError,
  readWav,
  toMono,
  writeWav,
  type WavEncoding,
} from '@zipper/tokenizers';

const { WaveFile } = (wavefileModule as unknown as { WaveFile?: unknown }).WaveFile
  ? wavefileModule
  : (wavefileModule as unknown as { default: typeof wavefileModule }).default;

/** 3 channels x 13 frames of distinct values in (-1, 1). */
const channels = [0, 1, 2].map((c) => new Float32Array(13).map((_, i) => Math.sin(1.3 * i + c) * (0.9 - 0.2 * c)));
const STEP: Record<WavEncoding, number> = {
  pcm8: 1 / 128,
  pcm16: 1 / 32768,
  pcm24: 1 / 8388608,
  pcm32: 1 / 2147483648,
  float32: 1e-7,
  float64: 1e-15,
};
const SCALE: Record<WavEncoding, [number, number]> = {
  pcm8: [128, 128],
  pcm16: [32768, 0],
  pcm24: [8388608, 0],
  pcm32: [2147483648, 0],
  float32: [1, 0],
  float64: [1, 0],
};

describe('WAV round trip', () => {
  for (const enc of Object.keys(STEP) as WavEncoding[]) {
    it(`${enc}, 3 channels, 11025 Hz: our reader agrees with the written values and with wavefile's reader`, () => {
      const bytes = writeWav(channels, 11025, enc);
      const audio = readWav(bytes);
      expect(audio.sampleRate).toBe(11025);
      expect(audio.encoding).toBe(enc);
      expect(audio.channels.length).toBe(3);
      // independent decode by wavefile, scaled to [-1, 1]
      const wf = new WaveFile(bytes);
      const ref = wf.getSamples(false, Float64Array) as unknown as Float64Array[];
      const [scale, offset] = SCALE[enc];
      for (let c = 0; c < 3; c++) {
        expect(audio.channels[c]!.length).toBe(13);
        for (let i = 0; i < 13; i++) {
          expect(Math.abs(audio.channels[c]![i]! - channels[c]![i]!)).toBeLessThanOrEqual(STEP[enc] * 0.5 + 1e-7);
          expect(audio.channels[c]![i]!).toBeCloseTo((ref[c]![i]! - offset) / scale, 6);
        }
      }
    });
  }

  it('toMono averages the channels', () => {
    const audio = readWav(writeWav(channels, 8000, 'float32'));
    const mono = toMono(audio);
    for (let i = 0; i < 13; i++) expect(mono[i]).toBeCloseTo((channels[0]![i]! + channels[1]![i]! + channels[2]![i]!) / 3, 6);
  });

  it('16-bit mono is the classic 44-byte header; Int16Array samples are written verbatim', () => {
    const samples = new Int16Array([0, 1, -1, 32767, -32768, 1234]);
    const bytes = writeWav(samples, 16000);
    const expected = new Uint8Array(44 + 12);
    const v = new DataView(expected.buffer);
    expected.set(new TextEncoder().encode('RIFF'), 0);
    v.setUint32(4, 36 + 12, true);
    expected.set(new TextEncoder().encode('WAVEfmt '), 8);
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true); // PCM
    v.setUint16(22, 1, true); // mono
    v.setUint32(24, 16000, true);
    v.setUint32(28, 32000, true); // byte rate
    v.setUint16(32, 2, true); // block align
    v.setUint16(34, 16, true);
    expected.set(new TextEncoder().encode('data'), 36);
    v.setUint32(40, 12, true);
    samples.forEach((s, i) => v.setInt16(44 + 2 * i, s, true));
    expect(Array.from(bytes)).toEqual(Array.from(expected));
    // the float path writes the same bytes for the same values
    expect(
      Array.from(
        writeWav(
          Float32Array.from(samples, (s) => s / 32768),
          16000,
          'pcm16',
        ),
      ),
    ).toEqual(Array.from(expected));
    expect(() => writeWav(samples, 16000, 'pcm24')).toThrow(WavFormatError);
  });

  it('integer encodings clip out-of-range samples instead of wrapping', () => {
    const audio = readWav(writeWav(new Float32Array([1.5, -1.5, 0.25]), 16000, 'pcm16'));
    expect(Array.from(audio.channels[0]!)).toEqual([32767 / 32768, -1, 0.25]);
  });
});

/** A valid 16-bit mono file whose header we can patch. */
function pcm16(n = 7): Uint8Array {
  return writeWav(
    new Float32Array(n).map((_, i) => i / 10),
    16000,
    'pcm16',
  );
}
function patch(bytes: Uint8Array, at: number, values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, at);
  return out;
}
function expectWavError<E extends WavError>(f: () => unknown, cls: new (...a: never[]) => E, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    expect(e).toBeInstanceOf(TokenizerError);
    expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${cls.name}`);
}
/** Offset of a chunk's size field. */
function chunkAt(bytes: Uint8Array, id: string): number {
  for (let i = 12; i + 4 <= bytes.length; i++) if (String.fromCharCode(...bytes.subarray(i, i + 4)) === id) return i;
  throw new Error(`no ${id}`);
}

describe('bad WAV input gives typed errors that say what to do', () => {
  it('not RIFF/WAVE', () => {
    expectWavError(
      () => readWav(new TextEncoder().encode('hello, this is not audio')),
      WavFormatError,
      /expected a RIFF\/WAVE header, got "hell"/,
    );
    expectWavError(() => readWav(new Uint8Array([0x52, 0x49])), WavFormatError, /only 2 bytes/);
  });

  it('MP3 / Ogg / FLAC bytes name the format and how to convert', () => {
    expectWavError(
      () => readWav(new Uint8Array([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
      WavEncodingError,
      /looks like MP3.*sox/,
    );
    expectWavError(() => readWav(new Uint8Array([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0])), WavEncodingError, /MP3/);
    expectWavError(() => readWav(new TextEncoder().encode('OggS\0\0\0\0\0\0\0\0')), WavEncodingError, /Ogg/);
  });

  it('A-law, mu-law and MP3-in-WAV format codes (plain and extensible) are refused', () => {
    const b = pcm16();
    const fmt = chunkAt(b, 'fmt ') + 8;
    expectWavError(() => readWav(patch(b, fmt, [6, 0])), WavEncodingError, /A-law WAV is not supported.*16-bit PCM/);
    expectWavError(() => readWav(patch(b, fmt, [7, 0])), WavEncodingError, /mu-law/);
    expectWavError(() => readWav(patch(b, fmt, [0x55, 0])), WavEncodingError, /MP3/);
    expectWavError(() => readWav(patch(b, fmt + 14, [12, 0])), WavEncodingError, /12-bit PCM is not supported/);
    // WAVE_FORMAT_EXTENSIBLE with an A-law SubFormat: rebuild the fmt chunk at 40 bytes
    const ext = new Uint8Array(12 + 8 + 40 + 8 + 14);
    const v = new DataView(ext.buffer);
    ext.set(new TextEncoder().encode('RIFF'), 0);
    v.setUint32(4, ext.length - 8, true);
    ext.set(new TextEncoder().encode('WAVEfmt '), 8);
    v.setUint32(16, 40, true);
    v.setUint16(20, 0xfffe, true);
    v.setUint16(22, 1, true);
    v.setUint32(24, 8000, true);
    v.setUint16(32, 1, true);
    v.setUint16(34, 8, true);
    v.setUint16(20 + 24, 6, true); // SubFormat GUID starts with the format code
    ext.set(new TextEncoder().encode('data'), 60);
    v.setUint32(64, 14, true);
    expectWavError(() => readWav(ext), WavEncodingError, /A-law/);
    v.setUint16(20 + 24, 1, true); // same file as extensible PCM reads fine
    expect(readWav(ext).channels[0]!.length).toBe(14);
  });

  it('a truncated data chunk is refused unless allowTruncated', () => {
    const b = pcm16(11).subarray(0, -6); // drop the last 3 samples
    expectWavError(() => readWav(b), WavTruncatedError, /declares 22 bytes but only 16 remain.*allowTruncated/);
    expect(readWav(b, { allowTruncated: true }).channels[0]!.length).toBe(8);
  });

  it('zero-length audio', () => {
    const b = pcm16(1);
    const data = chunkAt(b, 'data');
    const empty = patch(b, data + 4, [0, 0, 0, 0]);
    expectWavError(() => readWav(empty), WavEmptyError, /no complete sample frame/);
    expectWavError(() => writeWav(new Float32Array(0), 16000), WavEmptyError, /no samples/);
  });

  it('NaN and Inf samples', () => {
    const b = writeWav(new Float32Array([0.1, 0.2, 0.3]), 16000, 'float32');
    const data = chunkAt(b, 'data') + 8;
    const nan = b.slice();
    new DataView(nan.buffer).setFloat32(data + 4, Number.NaN, true);
    expectWavError(() => readWav(nan), WavSampleError, /sample 1 of channel 0 is NaN/);
    const inf = b.slice();
    new DataView(inf.buffer).setFloat32(data + 8, Number.POSITIVE_INFINITY, true);
    expectWavError(() => readWav(inf), WavSampleError, /Infinity/);
    expectWavError(() => writeWav(new Float32Array([0, Number.NaN]), 16000), WavSampleError, /sample 1/);
  });

  it('files above the size limit', () => {
    expectWavError(() => readWav(pcm16(101), { maxBytes: 200 }), WavTooLargeError, /above the limit of 200.*raise maxBytes/);
  });

  it(`sample rates outside ${MIN_WAV_SAMPLE_RATE}..${MAX_WAV_SAMPLE_RATE} Hz are refused, reading and writing`, () => {
    const b = pcm16();
    const rate = chunkAt(b, 'fmt ') + 8 + 4;
    const withRate = (hz: number) => {
      const out = b.slice();
      new DataView(out.buffer).setUint32(rate, hz, true);
      return out;
    };
    for (const hz of [0, 1, 999, 384_001, 0xffffffff]) {
      expectWavError(
        () => readWav(withRate(hz)),
        WavSampleRateError,
        new RegExp(`the "fmt " chunk's sample rate ${hz} Hz is outside 1000\\.\\.384000 Hz.*sox`),
      );
      expectWavError(() => writeWav(new Float32Array(3), hz), WavSampleRateError, /outside/);
    }
    expect(readWav(withRate(1000)).sampleRate).toBe(1000);
    expect(readWav(withRate(384_000)).sampleRate).toBe(384_000);
    expectWavError(() => writeWav(new Float32Array(3), 16000.5), WavSampleRateError, /16000\.5 Hz/);
  });

  it('missing chunks and inconsistent headers', () => {
    const b = pcm16();
    expectWavError(() => readWav(patch(b, chunkAt(b, 'data'), [0x4a, 0x55, 0x4e, 0x4b])), WavFormatError, /no "data" chunk/);
    const fmt = chunkAt(b, 'fmt ') + 8;
    expectWavError(() => readWav(patch(b, fmt + 12, [3, 0])), WavFormatError, /block align is 3, expected 2/);
    expectWavError(() => readWav(patch(b, fmt + 2, [0, 0])), WavFormatError, /0 channels/);
  });
});
