/**
 * Minimal safetensors (https://github.com/huggingface/safetensors) for float32 tensors:
 * an 8-byte little-endian header length, a JSON header, then the raw little-endian data.
 * Enough for the centroid matrix, and readable by `safetensors.torch.load_file`.
 */
import { TokenizerFormatError } from '../errors.js';

export interface F32Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function writeSafetensors(tensors: Readonly<Record<string, F32Tensor>>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new TokenizerFormatError(name, `shape [${t.shape.join(', ')}] holds ${size} values, data has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors)) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i]!, true);
  }
  return out;
}

export function readSafetensors(bytes: Uint8Array): Map<string, F32Tensor> {
  if (bytes.length < 8) throw new TokenizerFormatError('safetensors', `file is ${bytes.length} bytes, too short for a header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) throw new TokenizerFormatError('safetensors', `header declares ${n} bytes but the file has ${bytes.length - 8}; the file is truncated`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new TokenizerFormatError('safetensors', `header is not JSON (${(e as Error).message})`);
  }
  const out = new Map<string, F32Tensor>();
  const base = 8 + n;
  for (const [name, h] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (h.dtype !== 'F32') throw new TokenizerFormatError(name, `dtype ${String(h.dtype)} is not supported (F32 is); re-save the tensor as float32`);
    const shape = h.shape ?? [];
    const [b, e] = h.data_offsets ?? [0, -1];
    const size = shape.reduce((a, c) => a * c, 1);
    if (e - b !== 4 * size || base + e > bytes.length) throw new TokenizerFormatError(name, `data_offsets [${b}, ${e}] do not fit shape [${shape.join(', ')}] and file size ${bytes.length}`);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(base + b + 4 * i, true);
    out.set(name, { shape, data });
  }
  return out;
}
