/**
 * safetensors: round trips, byte alignment of the data with non-ASCII names and metadata, a
 * hand-written file and one written by Python's safetensors, and a typed error for every
 * malformed header (moved here from core's checkpoint tests with the code).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors, encodeSafetensors, SafetensorsError, ZipperError } from '../src/index.js';

const headerLength = (b: Uint8Array): number => Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));

describe('safetensors round trip', () => {
  it('F32, I32 and F16 storage, Map or object input, metadata first', () => {
    const a = new Float32Array([1.5, -2, 3.25, 1e-7, 0, 7]);
    const b = new Int32Array([3, -4, 2 ** 30]);
    const bytes = encodeSafetensors({ a: { shape: [3, 2], data: a }, b: { shape: [3], data: b } }, { metadata: { step: '3' } });
    expect(new TextDecoder().decode(bytes.subarray(8, 24))).toBe('{"__metadata__":');
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '3' });
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual({ shape: [3, 2], data: a, stored: 'F32' });
    expect(tensors.get('b')).toEqual({ shape: [3], data: b, stored: 'I32' });
    const half = decodeSafetensors(encodeSafetensors(new Map([['a', { shape: [6], data: a }]]), { dtype: 'float16' }));
    expect(half.tensors.get('a')!.stored).toBe('F16');
    expect(Array.from(half.tensors.get('a')!.data)).toEqual([1.5, -2, 3.25, 1.1920928955078125e-7, 0, 7]); // 1e-7 -> nearest float16 subnormal
    expect(half.metadata).toEqual({});
  });

  it('U16 storage from a Uint16Array: two bytes a value, read back as int32', () => {
    const ids = new Uint16Array([0, 1, 65535, 300]);
    const bytes = encodeSafetensors({ ids: { shape: [2, 2], data: ids }, x: { shape: [1], data: new Float32Array([2]) } });
    const { tensors } = decodeSafetensors(bytes);
    expect(tensors.get('ids')).toEqual({ shape: [2, 2], data: new Int32Array([0, 1, 65535, 300]), stored: 'U16' });
    expect(tensors.get('x')!.data).toEqual(new Float32Array([2]));
    expect(bytes.length - 8 - headerLength(bytes)).toBe(4 * 2 + 4);
  });

  it('U8 storage from a Uint8Array: one byte a value (5 bytes, unaligned after it), read back as int32', () => {
    const blob = new Uint8Array([0, 1, 255, 128, 7]);
    const bytes = encodeSafetensors({ blob: { shape: [5], data: blob }, x: { shape: [1], data: new Float32Array([2]) } });
    const { tensors } = decodeSafetensors(bytes);
    expect(tensors.get('blob')).toEqual({ shape: [5], data: new Int32Array([0, 1, 255, 128, 7]), stored: 'U8' });
    expect(tensors.get('x')!.data).toEqual(new Float32Array([2]));
    expect(bytes.length - 8 - headerLength(bytes)).toBe(5 + 4);
  });

  it('pads the header in bytes: non-ASCII names and metadata keep the data 8-byte aligned', () => {
    const cases = [
      { name: 'gewicht.ä', meta: 'naïve' }, // 1 extra byte each
      { name: 'Gewichte.größe', meta: '— ½ ∑' }, // 2-3 byte characters
      { name: 'emoji.🎙', meta: '日本語のメタデータ' }, // 4-byte and 3-byte characters
    ];
    let differs = 0;
    for (const c of cases) {
      const data = new Float32Array([1, 2, 3]);
      const bytes = encodeSafetensors(new Map([[c.name, { shape: [3], data }]]), { metadata: { note: c.meta } });
      const n = headerLength(bytes);
      const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
      expect(n % 8).toBe(0); // data starts at 8 + n: aligned
      expect(bytes.length).toBe(8 + n + 12);
      expect(json.trimEnd()).toBe(
        JSON.stringify({ __metadata__: { note: c.meta }, [c.name]: { dtype: 'F32', shape: [3], data_offsets: [0, 12] } }),
      );
      if (json.length % 8 !== n % 8) differs++; // padding by string length would have been wrong here
      const back = decodeSafetensors(bytes);
      expect(back.tensors.get(c.name)!.data).toEqual(data);
      expect(back.metadata).toEqual({ note: c.meta });
      expect(new Float32Array(bytes.buffer, 8 + n, 3)).toEqual(data); // an aligned view reads the values in place
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('parses a hand-written file (F16, BF16, I32, a zero-size tensor, metadata last, space padding)', () => {
    const header =
      '{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"bf":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},' +
      '"e":{"dtype":"F32","shape":[0,3],"data_offsets":[6,6]},"i":{"dtype":"I32","shape":[1],"data_offsets":[6,10]},"__metadata__":{"format":"pt"}}';
    const padded = header.padEnd(Math.ceil(header.length / 8) * 8, ' ');
    const data = [0x00, 0x3c, 0x00, 0xc0, 0x80, 0x3f, 0xff, 0xff, 0xff, 0xff]; // f16 1, f16 -2, bf16 1, int32 -1
    const bytes = new Uint8Array(8 + padded.length + data.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(padded.length), true);
    bytes.set(new TextEncoder().encode(padded), 8);
    bytes.set(data, 8 + padded.length);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('h')).toEqual({ shape: [2], data: new Float32Array([1, -2]), stored: 'F16' });
    expect(tensors.get('bf')).toEqual({ shape: [1], data: new Float32Array([1]), stored: 'BF16' });
    expect(tensors.get('e')).toEqual({ shape: [0, 3], data: new Float32Array(0), stored: 'F32' });
    expect(tensors.get('i')).toEqual({ shape: [1], data: new Int32Array([-1]), stored: 'I32' });
  });

  it('decodes from a Node Buffer (a pooled view whose slice shares memory) as from a Uint8Array', () => {
    const bytes = encodeSafetensors({ a: { shape: [3], data: new Float32Array([1, 2, 3]) } }, { metadata: { k: 'v' } });
    const pooled = Buffer.concat([Buffer.from('xx'), Buffer.from(bytes)]).subarray(2); // odd offset into a bigger buffer
    expect(decodeSafetensors(pooled).tensors.get('a')!.data).toEqual(new Float32Array([1, 2, 3]));
  });

  it("reads a file written by Python's safetensors (core's PyTorch reference fixture)", () => {
    const bytes = new Uint8Array(readFileSync(new URL('../../core/test/fixtures/torch_tower.safetensors', import.meta.url)));
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata['source']).toBe('torch_reference.py');
    expect(tensors.get('blocks.0.qkv.weight')!.shape).toEqual([28, 84]);
    expect(headerLength(bytes) % 8).toBe(0);
  });

  it('refuses what it cannot write, with a typed error', () => {
    const bad = (t: Record<string, { shape: number[]; data: Float32Array }>, metadata?: Record<string, string>) => () =>
      encodeSafetensors(t, metadata ? { metadata } : {});
    expect(bad({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
    expect(bad({ a: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(SafetensorsError);
    expect(bad({}, { k: 5 as unknown as string })).toThrow(/must be a string/);
  });
});

describe('safetensors header validation', () => {
  const good = encodeSafetensors(
    new Map([
      ['a', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      ['b', { shape: [2], data: new Int32Array([7, 8]) }],
    ]),
    { metadata: { k: 'v' } },
  );
  const withHeader = (h: unknown, data = new Uint8Array(32)) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };

  it('decodes what it encodes', () => {
    const { tensors, metadata } = decodeSafetensors(good);
    expect(metadata).toEqual({ k: 'v' });
    expect(Array.from(tensors.get('a')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensors.get('b')!.data).toBeInstanceOf(Int32Array);
  });

  it.each([
    ['shorter than 8 bytes', good.subarray(0, 5), /truncated: 5 bytes/],
    ['header runs past the end', good.subarray(0, 20), /truncated: header length \d+ runs past the end of the 20-byte file/],
    ['truncated data', good.subarray(0, good.length - 4), /tensor "b": data_offsets \[24, 32\] out of range of the 28-byte data section/],
    ['bad JSON', withHeader('x').map((b, i) => (i === 8 ? 0x7b : b)), /header is not valid JSON/],
    ['not an object', withHeader([1, 2]), /header must be a JSON object/],
    ['offsets out of range', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 64] } }), /data_offsets \[0, 64\] out of range/],
    ['reversed offsets', withHeader({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }), /data_offsets \[8, 0\] out of range/],
    ['negative offset', withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }), /must be \[begin, end\]/],
    [
      'size mismatch',
      withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /hold 8 bytes, but F32 \[3\] needs 12/,
    ],
    [
      'bad shape',
      withHeader({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /must be a list of non-negative integers/,
    ],
    [
      'unknown dtype',
      withHeader({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /dtype "F64" is not supported/,
    ],
    [
      'inherited dtype name',
      withHeader({ a: { dtype: 'toString', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /dtype "toString" is not supported/,
    ],
    ['metadata not strings', withHeader({ __metadata__: { k: 1 } }, new Uint8Array(0)), /"__metadata__.k" must be a string/],
    [
      'overlap',
      withHeader(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
        new Uint8Array(12),
      ),
      /overlaps/,
    ],
    [
      'hole',
      withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
      /bytes 0\.\.4 of the data section belong to no tensor/,
    ],
    [
      'trailing bytes',
      withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(12)),
      /4 bytes after the last tensor/,
    ],
    [
      'huge header length',
      (() => {
        const b = new Uint8Array(good);
        new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
        return b;
      })(),
      /header length \d+ is larger than/,
    ],
  ])('%s', (_name, bytes, msg) => {
    const decode = () => decodeSafetensors(bytes as Uint8Array, 'x.safetensors');
    expect(decode).toThrow(SafetensorsError);
    expect(decode).toThrow(CheckpointError);
    expect(decode).toThrow(ZipperError);
    expect(decode).toThrow(msg);
    expect(decode).toThrow(/^x\.safetensors: /);
  });
});
