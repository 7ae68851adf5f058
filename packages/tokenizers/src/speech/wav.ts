/**
 * WAV input and output: the project's one WAV reader and writer (the speech tokenizer, the CLI
 * and the data builder all use these two functions).
 *
 * Reading walks the RIFF chunks itself, because every malformed byte must end in a typed error
 * (fuzzed in test/wav-fuzz.test.ts) and the check has to happen before any sample is decoded.
 * Writing emits the canonical layout: "RIFF", a 16-byte "fmt " chunk (18 bytes + a "fact" chunk
 * for IEEE float), "data"; 16-bit mono is the classic 44-byte header. The tests decode what it
 * writes with the `wavefile` library as an independent reader.
 */
import {
  WavEmptyError,
  WavEncodingError,
  WavFormatError,
  WavSampleError,
  WavSampleRateError,
  WavTooLargeError,
  WavTruncatedError,
} from '../errors.js';

/** Sample encodings read and written: linear PCM and IEEE float. */
export type WavEncoding = 'pcm8' | 'pcm16' | 'pcm24' | 'pcm32' | 'float32' | 'float64';

/** Decoded audio: one Float32Array per channel, samples in [-1, 1] (float files may exceed it). */
export interface WavAudio {
  readonly sampleRate: number;
  readonly channels: readonly Float32Array[];
  readonly encoding: WavEncoding;
}

export interface ReadWavOptions {
  /** Refuse inputs larger than this many bytes (default 256 MiB, about 2 h of 16 kHz stereo 16-bit). */
  readonly maxBytes?: number;
  /** Read the bytes present when the data chunk declares more than the file holds (default false). */
  readonly allowTruncated?: boolean;
}

export const DEFAULT_MAX_WAV_BYTES = 256 * 1024 * 1024;

/**
 * Sample rates read and written, in Hz. Real audio lies well inside (telephony 8 kHz to studio
 * 384 kHz); outside it a header is damaged or hostile: a 100 KB file that claims 1 Hz would
 * resample to about 14 hours of 16 kHz audio.
 */
export const MIN_WAV_SAMPLE_RATE = 1_000;
export const MAX_WAV_SAMPLE_RATE = 384_000;

/** Throws `WavSampleRateError` unless `rate` is an integer in [MIN_WAV_SAMPLE_RATE, MAX_WAV_SAMPLE_RATE]. */
export function checkSampleRate(rate: number, what = 'sample rate'): void {
  if (!Number.isInteger(rate) || rate < MIN_WAV_SAMPLE_RATE || rate > MAX_WAV_SAMPLE_RATE) {
    throw new WavSampleRateError(
      `${what} ${rate} Hz is outside ${MIN_WAV_SAMPLE_RATE}..${MAX_WAV_SAMPLE_RATE} Hz; the header is damaged, or resample the audio first (e.g. \`sox in.wav -r 16000 out.wav\`)`,
    );
  }
}

const FORMAT_NAMES: Readonly<Record<number, string>> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG',
  0x0055: 'MP3',
};
const CONVERT_HINT = 'convert it to 16-bit PCM first, e.g. `sox in.wav -e signed-integer -b 16 out.wav`';

function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at] ?? 0, b[at + 1] ?? 0, b[at + 2] ?? 0, b[at + 3] ?? 0);
}

/** Names what the bytes look like when they are not RIFF/WAVE, so the error can say what to do. */
function sniffNonWav(b: Uint8Array): string | undefined {
  const head = fourcc(b, 0);
  if (head.startsWith('ID3') || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)) return 'MP3';
  if (head === 'OggS') return 'Ogg';
  if (head === 'fLaC') return 'FLAC';
  if (head === 'FORM') return 'AIFF';
  return undefined;
}

interface FmtChunk {
  readonly format: number;
  readonly channels: number;
  readonly sampleRate: number;
  readonly blockAlign: number;
  readonly bits: number;
}

function parseFmt(view: DataView, at: number, size: number): FmtChunk {
  if (size < 16) throw new WavFormatError(`"fmt " chunk is ${size} bytes, expected at least 16; the file header is damaged`);
  let format = view.getUint16(at, true);
  if (format === 0xfffe) {
    // WAVE_FORMAT_EXTENSIBLE: the real format code is the first two bytes of the SubFormat GUID.
    if (size < 40) throw new WavFormatError(`extensible "fmt " chunk is ${size} bytes, expected 40`);
    format = view.getUint16(at + 24, true);
  }
  return {
    format,
    channels: view.getUint16(at + 2, true),
    sampleRate: view.getUint32(at + 4, true),
    blockAlign: view.getUint16(at + 12, true),
    bits: view.getUint16(at + 14, true),
  };
}

function encodingOf(fmt: FmtChunk): WavEncoding {
  if (fmt.format === 1) {
    if (fmt.bits === 8) return 'pcm8';
    if (fmt.bits === 16) return 'pcm16';
    if (fmt.bits === 24) return 'pcm24';
    if (fmt.bits === 32) return 'pcm32';
    throw new WavEncodingError(`${fmt.bits}-bit PCM is not supported (8, 16, 24 or 32 are); ${CONVERT_HINT}`);
  }
  if (fmt.format === 3) {
    if (fmt.bits === 32) return 'float32';
    if (fmt.bits === 64) return 'float64';
    throw new WavEncodingError(`${fmt.bits}-bit float is not supported (32 or 64 are); ${CONVERT_HINT}`);
  }
  const name = FORMAT_NAMES[fmt.format] ?? `format code 0x${fmt.format.toString(16).padStart(4, '0')}`;
  throw new WavEncodingError(`${name} WAV is not supported (only linear PCM and IEEE float are); ${CONVERT_HINT}`);
}

/** Parses a WAV file's bytes. Throws a `WavError` subclass for anything it cannot read. */
export function readWav(bytes: Uint8Array, options: ReadWavOptions = {}): WavAudio {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_WAV_BYTES;
  if (bytes.length > maxBytes) {
    throw new WavTooLargeError(
      `input is ${bytes.length} bytes, above the limit of ${maxBytes}; split the audio (e.g. \`sox in.wav out.wav trim 0 600 : newfile : restart\`) or raise maxBytes`,
    );
  }
  if (bytes.length < 12 || fourcc(bytes, 0) !== 'RIFF' || fourcc(bytes, 8) !== 'WAVE') {
    const kind = sniffNonWav(bytes);
    if (kind) throw new WavEncodingError(`input looks like ${kind}, not WAV; ${CONVERT_HINT}`);
    const head = fourcc(bytes, 0);
    if (head === 'RIFX' || head === 'RF64')
      throw new WavEncodingError(`${head} (big-endian or 64-bit RIFF) is not supported; ${CONVERT_HINT}`);
    throw new WavFormatError(
      `expected a RIFF/WAVE header, got ${JSON.stringify(head)}${bytes.length < 12 ? ` in only ${bytes.length} bytes` : ''}; is this a WAV file?`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: FmtChunk | undefined;
  let dataAt = -1;
  let dataSize = 0;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourcc(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (body + size > bytes.length)
        throw new WavTruncatedError(`"fmt " chunk declares ${size} bytes but the file ends first; the file was cut short`);
      fmt = parseFmt(view, body, size);
    } else if (id === 'data') {
      dataAt = body;
      dataSize = size;
      if (body + size > bytes.length) break; // truncated (or streamed) data chunk: nothing can follow it
    }
    at = body + size + (size & 1); // chunks are padded to an even size
  }
  if (!fmt) throw new WavFormatError('no "fmt " chunk found; the file header is damaged');
  if (dataAt < 0) throw new WavFormatError('no "data" chunk found; the file holds no audio');
  const encoding = encodingOf(fmt);
  if (fmt.channels < 1) throw new WavFormatError('"fmt " chunk declares 0 channels');
  checkSampleRate(fmt.sampleRate, 'the "fmt " chunk\'s sample rate');
  const sampleBytes = fmt.bits / 8;
  const frameBytes = sampleBytes * fmt.channels;
  if (fmt.blockAlign !== frameBytes) {
    throw new WavFormatError(
      `"fmt " block align is ${fmt.blockAlign}, expected ${frameBytes} (${fmt.channels} channels x ${sampleBytes} bytes); the header is inconsistent`,
    );
  }
  const available = bytes.length - dataAt;
  if (dataSize > available && !options.allowTruncated) {
    throw new WavTruncatedError(
      `"data" chunk declares ${dataSize} bytes but only ${available} remain; the file was cut short (re-export it, or pass allowTruncated to read what is there)`,
    );
  }
  const frames = Math.floor(Math.min(dataSize, available) / frameBytes);
  if (frames === 0) throw new WavEmptyError('the "data" chunk holds no complete sample frame; the audio is empty');
  const channels = Array.from({ length: fmt.channels }, () => new Float32Array(frames));
  for (let c = 0; c < fmt.channels; c++) decodeChannel(view, dataAt + c * sampleBytes, frameBytes, encoding, channels[c]!, c);
  return { sampleRate: fmt.sampleRate, channels, encoding };
}

function decodeChannel(view: DataView, start: number, stride: number, enc: WavEncoding, out: Float32Array, channel: number): void {
  const n = out.length;
  let p = start;
  switch (enc) {
    case 'pcm8':
      for (let i = 0; i < n; i++, p += stride) out[i] = (view.getUint8(p) - 128) / 128;
      return;
    case 'pcm16':
      for (let i = 0; i < n; i++, p += stride) out[i] = view.getInt16(p, true) / 32768;
      return;
    case 'pcm24':
      for (let i = 0; i < n; i++, p += stride) {
        const v = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
        out[i] = v / 8388608;
      }
      return;
    case 'pcm32':
      for (let i = 0; i < n; i++, p += stride) out[i] = view.getInt32(p, true) / 2147483648;
      return;
    case 'float32':
    case 'float64':
      for (let i = 0; i < n; i++, p += stride) {
        const v = enc === 'float32' ? view.getFloat32(p, true) : view.getFloat64(p, true);
        if (!Number.isFinite(v))
          throw new WavSampleError(`sample ${i} of channel ${channel} is ${v}; the float data is corrupt (re-render the audio)`);
        if (!Number.isFinite(Math.fround(v)))
          throw new WavSampleError(
            `sample ${i} of channel ${channel} is ${v}, beyond float32 range; the float data is corrupt (re-render the audio)`,
          );
        out[i] = v;
      }
      return;
  }
}

/** Averages the channels into one (a no-op copy-free return for mono). */
export function toMono(audio: WavAudio): Float32Array {
  const chans = audio.channels;
  if (chans.length === 1) return chans[0]!;
  const n = chans[0]!.length;
  const out = new Float32Array(n);
  for (const ch of chans) for (let i = 0; i < n; i++) out[i]! += ch[i]!;
  const inv = 1 / chans.length;
  for (let i = 0; i < n; i++) out[i]! *= inv;
  return out;
}

const FORMAT: Readonly<Record<WavEncoding, { code: 1 | 3; bytes: number }>> = {
  pcm8: { code: 1, bytes: 1 },
  pcm16: { code: 1, bytes: 2 },
  pcm24: { code: 1, bytes: 3 },
  pcm32: { code: 1, bytes: 4 },
  float32: { code: 3, bytes: 4 },
  float64: { code: 3, bytes: 8 },
};

/**
 * Encodes channels of samples as a WAV file (default 16-bit PCM). Float samples in [-1, 1]:
 * integer encodings clip to [-1, 1) and round to the nearest step. An `Int16Array` channel is
 * taken as 16-bit samples verbatim (encoding pcm16 only). Throws `WavSampleError` on NaN/Inf,
 * `WavEmptyError` on zero samples, `WavSampleRateError` for a rate outside the readable range.
 */
export function writeWav(
  channels: Float32Array | Int16Array | readonly (Float32Array | Int16Array)[],
  sampleRate: number,
  encoding: WavEncoding = 'pcm16',
): Uint8Array<ArrayBuffer> {
  const chans = channels instanceof Float32Array || channels instanceof Int16Array ? [channels] : channels;
  const n = chans[0]?.length ?? 0;
  if (n === 0) throw new WavEmptyError('nothing to write: the audio has no samples');
  if (chans.some((c) => c.length !== n)) throw new WavFormatError('all channels must have the same length');
  if (chans.length > 65535) throw new WavFormatError(`${chans.length} channels do not fit a WAV header (at most 65535)`);
  checkSampleRate(sampleRate, 'sample rate');
  const { code, bytes } = FORMAT[encoding];
  const frame = bytes * chans.length;
  const dataBytes = n * frame;
  const fmtBytes = code === 3 ? 18 : 16; // IEEE float: cbSize field, then a "fact" chunk
  const head = 12 + 8 + fmtBytes + (code === 3 ? 12 : 0) + 8;
  if (head + dataBytes + (dataBytes & 1) - 8 > 0xffffffff)
    throw new WavFormatError(`${dataBytes} bytes of audio do not fit a RIFF file (4 GiB); split it`);
  const out = new Uint8Array(head + dataBytes + (dataBytes & 1));
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, out.length - 8, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, fmtBytes, true);
  v.setUint16(20, code, true);
  v.setUint16(22, chans.length, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * frame, true); // byte rate
  v.setUint16(32, frame, true); // block align
  v.setUint16(34, bytes * 8, true);
  let at = 36;
  if (code === 3) {
    v.setUint16(36, 0, true); // cbSize
    ascii(38, 'fact');
    v.setUint32(42, 4, true);
    v.setUint32(46, n, true); // sample frames
    at = 50;
  }
  ascii(at, 'data');
  v.setUint32(at + 4, dataBytes, true);
  const start = at + 8;
  for (const [ci, c] of chans.entries()) encodeChannel(v, start + ci * bytes, frame, encoding, c, ci);
  return out;
}

function encodeChannel(v: DataView, start: number, stride: number, enc: WavEncoding, c: Float32Array | Int16Array, channel: number): void {
  const n = c.length;
  let p = start;
  if (c instanceof Int16Array) {
    if (enc !== 'pcm16')
      throw new WavFormatError(`Int16Array samples are written as pcm16 only, not ${enc}; pass Float32Array samples in [-1, 1]`);
    for (let i = 0; i < n; i++, p += stride) v.setInt16(p, c[i]!, true);
    return;
  }
  const scale = { pcm8: 128, pcm16: 32768, pcm24: 8388608, pcm32: 2147483648, float32: 0, float64: 0 }[enc];
  for (let i = 0; i < n; i++, p += stride) {
    const x = c[i]!;
    if (!Number.isFinite(x)) throw new WavSampleError(`sample ${i} of channel ${channel} is ${x}; fix the audio before writing`);
    if (enc === 'float32') v.setFloat32(p, x, true);
    else if (enc === 'float64') v.setFloat64(p, x, true);
    else {
      const q = Math.max(-scale, Math.min(scale - 1, Math.round(x * scale)));
      if (enc === 'pcm8') v.setUint8(p, q + 128);
      else if (enc === 'pcm16') v.setInt16(p, q, true);
      else if (enc === 'pcm32') v.setInt32(p, q, true);
      else {
        v.setUint8(p, q & 0xff);
        v.setUint8(p + 1, (q >> 8) & 0xff);
        v.setInt8(p + 2, q >> 16);
      }
    }
  }
}
