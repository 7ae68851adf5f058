/**
 * The builder's audio I/O, on @zipper/tokenizers' one WAV reader and writer: it writes 16-bit
 * mono WAV (the classic 44-byte header, `writeWav` of Int16 samples) and reads synthesizer output,
 * which must be 16-bit PCM.
 */
import { readWav, WavError, writeWav } from '@zipper/tokenizers';
import { DataError } from './errors.js';

/** 16-bit PCM mono WAV bytes of `samples`, the only format the builder writes. */
export function encodeWav(samples: Int16Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  return writeWav(samples, sampleRate, 'pcm16');
}

/**
 * The 16-bit samples of the first channel of a 16-bit PCM WAV (every chunk and field checked by
 * `readWav`; a data chunk that claims more bytes than the file holds, as streamed synthesizer
 * output may, is read as far as it goes). Any other encoding is a `DataError`.
 */
export function readPcm16Wav(b: Uint8Array): { samples: Int16Array; sampleRate: number; channels: number } {
  let audio;
  try {
    audio = readWav(b, { allowTruncated: true });
  } catch (e) {
    if (e instanceof WavError) throw new DataError(`${e.message}; regenerate the file with zipper data build`, { cause: e });
    throw e;
  }
  if (audio.encoding !== 'pcm16') throw new DataError(`expected 16-bit PCM, got ${audio.encoding}; convert with sox first`);
  const first = audio.channels[0]!;
  const samples = new Int16Array(first.length);
  for (let i = 0; i < first.length; i++) samples[i] = Math.round(first[i]! * 32768); // exact: readWav divided by 32768
  return { samples, sampleRate: audio.sampleRate, channels: audio.channels.length };
}

/** Raw little-endian s16 bytes (sox `-t raw -e signed -b 16`) to samples. */
export function s16leToSamples(raw: Uint8Array): Int16Array {
  const n = raw.length >> 1;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = v.getInt16(2 * i, true);
  return out;
}
