import { DataError } from './errors.js';

/** 16-bit PCM mono WAV, the only format the builder writes: a 44-byte RIFF header, then samples. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const data = samples.length * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16); // fmt chunk size
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28); // byte rate
  b.writeUInt16LE(2, 32); // block align
  b.writeUInt16LE(16, 34); // bits per sample
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(data, 40);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i]!, 44 + 2 * i);
  return b;
}

/** Parses a WAV written by encodeWav (checks every header field it relies on). */
export function decodeWav(b: Buffer): { samples: Int16Array; sampleRate: number } {
  if (b.length < 44 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new DataError(`expected a RIFF/WAVE header, got "${b.toString('latin1', 0, 4)}"; regenerate the file with zipper data build`);
  }
  if (b.readUInt16LE(20) !== 1 || b.readUInt16LE(22) !== 1 || b.readUInt16LE(34) !== 16 || b.toString('ascii', 36, 40) !== 'data') {
    throw new DataError('expected 16-bit PCM mono with a 44-byte header; regenerate the file with zipper data build');
  }
  const n = b.readUInt32LE(40) / 2;
  const samples = new Int16Array(n);
  for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(44 + 2 * i);
  return { samples, sampleRate: b.readUInt32LE(24) };
}

/** Raw little-endian s16 bytes (sox `-t raw -e signed -b 16`) to samples. */
export function s16leToSamples(raw: Buffer): Int16Array {
  const n = raw.length >> 1;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = raw.readInt16LE(2 * i);
  return out;
}

/**
 * Reads any PCM WAV with 16-bit samples (walks the RIFF chunks, so extra chunks such as LIST are
 * skipped). Used on flite's output, which is already 16-bit mono.
 */
export function readPcm16Wav(b: Buffer): { samples: Int16Array; sampleRate: number; channels: number } {
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') {
    throw new DataError(`expected a RIFF/WAVE header, got "${b.toString('latin1', 0, 4)}"`);
  }
  let fmt: { channels: number; sampleRate: number; bits: number; format: number } | undefined;
  for (let at = 12; at + 8 <= b.length; ) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'fmt ') {
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), sampleRate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt || fmt.format !== 1 || fmt.bits !== 16) throw new DataError(`expected 16-bit PCM, got format ${fmt?.format} with ${fmt?.bits} bits; convert with sox first`);
      const end = Math.min(b.length, body + size);
      return { samples: s16leToSamples(b.subarray(body, end)), sampleRate: fmt.sampleRate, channels: fmt.channels };
    }
    at = body + size + (size & 1);
  }
  throw new DataError('WAV has no data chunk');
}
