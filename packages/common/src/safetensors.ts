/**
 * The safetensors format (https://github.com/huggingface/safetensors), written and read by hand,
 * bytes in and bytes out: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * ({ "__metadata__": {..}, name: { dtype, shape, data_offsets: [begin, end] } }), then the
 * little-endian data, offsets relative to its start, with no holes.
 *
 * The header is space-padded so that N, and with it the data start 8 + N, is a multiple of 8
 * BYTES (the format's alignment rule): the padding counts encoded bytes, not string length, so a
 * non-ASCII name or metadata value keeps the data aligned. `__metadata__` is written first (as
 * the Rust and Python implementations do).
 *
 * Stored dtypes: F32, F16 (written from float32 when asked), I32, U16 (written from a
 * Uint16Array: half the bytes of I32 for ids below 65,536), U8 (written from a Uint8Array: bytes,
 * e.g. a compressed blob); BF16 is also read. Every tensor comes back as float32 or int32 (U16 and
 * U8 as int32). The data is copied through typed arrays in host byte
 * order, which is little-endian on every platform JavaScript runs on.
 */
import { SafetensorsError } from './errors.js';
import { bfloat16ArrayToFloat32, float16ArrayToFloat32, float32ArrayToFloat16 } from './float16.js';

export type StoredDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'U16' | 'U8';
const BYTES: Readonly<Record<StoredDtype, number>> = { F32: 4, F16: 2, BF16: 2, I32: 4, U16: 2, U8: 1 };
/** Headers above this size are refused before parsing (a corrupt length would allocate it). */
export const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;

/** A tensor's values on the JS side. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

export interface DecodedTensor extends HostTensor {
  /** How it was stored in the file. */
  readonly stored: StoredDtype;
}

export interface EncodeOptions {
  /** Storage of float tensors (int32 ones are always I32). Default float32. */
  readonly dtype?: 'float32' | 'float16';
  /** String key/value pairs stored under `__metadata__` (safetensors allows only strings). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What `encodeSafetensors` writes: a HostTensor, or unsigned 16- or 8-bit integers (stored as U16 or U8, read back as int32). */
export interface EncodableTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint16Array | Uint8Array;
}

/** Named tensors, in the order they are written: a Map or a plain object. */
export type NamedHostTensors = ReadonlyMap<string, EncodableTensor> | Readonly<Record<string, EncodableTensor>>;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const bytesOf = (a: Float32Array | Int32Array | Uint16Array | Uint8Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function encodeSafetensors(tensors: NamedHostTensors, options: EncodeOptions = {}): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (options.metadata) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== 'string')
        throw new SafetensorsError(
          `metadata "${k}" must be a string (safetensors allows only strings), got ${typeof v}; JSON.stringify it first`,
        );
    }
    header['__metadata__'] = { ...options.metadata };
  }
  const blobs: Uint8Array[] = [];
  let offset = 0;
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors as Readonly<Record<string, EncodableTensor>>);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved in safetensors; rename the tensor');
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array || t.data instanceof Uint16Array || t.data instanceof Uint8Array))
      throw new SafetensorsError(`tensor "${name}": data must be a Float32Array, Int32Array, Uint16Array or Uint8Array`);
    if (numel(t.shape) !== t.data.length)
      throw new SafetensorsError(
        `tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel(t.shape)} values, data has ${t.data.length}`,
      );
    let dtype: StoredDtype;
    let bytes: Uint8Array;
    if (t.data instanceof Int32Array) {
      dtype = 'I32';
      bytes = bytesOf(t.data);
    } else if (t.data instanceof Uint16Array) {
      dtype = 'U16';
      bytes = bytesOf(t.data);
    } else if (t.data instanceof Uint8Array) {
      dtype = 'U8';
      bytes = bytesOf(t.data);
    } else if (options.dtype === 'float16') {
      dtype = 'F16';
      bytes = bytesOf(float32ArrayToFloat16(t.data));
    } else {
      dtype = 'F32';
      bytes = bytesOf(t.data);
    }
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    blobs.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = json.length + ((8 - (json.length % 8)) % 8); // pad in bytes: data starts 8-aligned
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * Parses and validates a safetensors byte buffer; `source` names the file in error messages.
 * Throws `SafetensorsError` for anything malformed: truncated, bad JSON, unsupported dtype,
 * offsets that overlap, leave holes or run past the data.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
): { tensors: Map<string, DecodedTensor>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`truncated: ${bytes.length} bytes, but the file must start with an 8-byte header length; re-save the file`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER))
    fail(`header length ${n} is larger than ${MAX_SAFETENSORS_HEADER} bytes; this is not a safetensors file or it is corrupted`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length)
    fail(`truncated: header length ${headerLen} runs past the end of the ${bytes.length}-byte file; re-save the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}); the file is corrupted`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header must be a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, DecodedTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail('"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`"__metadata__.${k}" must be a string, got ${typeof v}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(`tensor "${name}": entry must be an object with dtype, shape, data_offsets`);
    const dtype = e.dtype as StoredDtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype))
      fail(`tensor "${name}": dtype ${JSON.stringify(e.dtype)} is not supported (use ${Object.keys(BYTES).join(', ')})`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor "${name}": shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0))
      fail(`tensor "${name}": data_offsets ${JSON.stringify(offs)} must be [begin, end]`);
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen)
      fail(`tensor "${name}": data_offsets [${begin}, ${end}] out of range of the ${dataLen}-byte data section (truncated file?)`);
    const count = numel(shape as number[]);
    if (end - begin !== count * BYTES[dtype])
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} [${(shape as number[]).join(', ')}] needs ${count * BYTES[dtype]}`,
      );
    spans.push([begin, end, name]);
    const raw = new Uint8Array(end - begin); // an aligned copy (also when `bytes` is a Buffer, whose slice is a view)
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    let data: Float32Array | Int32Array;
    if (dtype === 'F32') data = new Float32Array(raw.buffer);
    else if (dtype === 'I32') data = new Int32Array(raw.buffer);
    else if (dtype === 'U16') data = Int32Array.from(new Uint16Array(raw.buffer));
    else if (dtype === 'U8') data = Int32Array.from(raw);
    else if (dtype === 'F16') data = float16ArrayToFloat32(new Uint16Array(raw.buffer));
    else data = bfloat16ArrayToFloat32(new Uint16Array(raw.buffer));
    tensors.set(name, { shape: shape as number[], data, stored: dtype });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let covered = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== covered)
      fail(
        begin < covered
          ? `tensor "${name}" overlaps the previous tensor's bytes`
          : `bytes ${covered}..${begin} of the data section belong to no tensor`,
      );
    covered = end;
  }
  if (covered !== dataLen) fail(`${dataLen - covered} bytes after the last tensor belong to no tensor`);
  return { tensors, metadata };
}
