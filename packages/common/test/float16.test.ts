/** float32 <-> float16 bit conversion, round to nearest even. */
import { describe, expect, it } from 'vitest';
import { float16ArrayToFloat32, float16BitsToFloat32, float32ToFloat16Bits } from '../src/index.js';

describe('float16', () => {
  it('every non-NaN float16 survives float16 -> float32 -> float16', () => {
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      const f = float16BitsToFloat32(h);
      if (Number.isNaN(f)) continue;
      if (float32ToFloat16Bits(f) !== h) throw new Error(`0x${h.toString(16)} -> ${f} -> 0x${float32ToFloat16Bits(f).toString(16)}`);
      checked++;
    }
    expect(checked).toBe(0x10000 - 2 * 1023 * 1); // 2 * (2^10 - 1) NaN patterns
  });

  it('the array decoder (a lookup table) equals the per-value decoder on every bit pattern, -0 and NaN included', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, h) => h);
    const out = float16ArrayToFloat32(all);
    let same = 0;
    for (let h = 0; h < 0x10000; h++) if (Object.is(out[h], float16BitsToFloat32(h))) same++;
    expect(same).toBe(0x10000);
    expect(Array.from(float16ArrayToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x0001)))).toEqual([1, -2, 2 ** -24]);
  });

  it('decodes known patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0xc000)).toBe(-2);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16BitsToFloat32(0x7c00)).toBe(Infinity);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it.each([
    [1 + 2 ** -11, 0x3c00, 'tie between 1 and 1+2^-10 goes to even (1)'],
    [1 + 3 * 2 ** -11, 0x3c02, 'tie between 1+2^-10 and 1+2^-9 goes to even (up)'],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01, 'just above the tie rounds up'],
    [65504, 0x7bff, 'largest finite'],
    [65519, 0x7bff, 'below the overflow tie'],
    [65520, 0x7c00, 'overflow tie rounds to Infinity'],
    [1e6, 0x7c00, 'overflow'],
    [-1e6, 0xfc00, 'negative overflow'],
    [2 ** -24, 0x0001, 'smallest subnormal'],
    [2 ** -25, 0x0000, 'tie between 0 and the smallest subnormal goes to even (0)'],
    [1.5 * 2 ** -25, 0x0001, 'above the tie'],
    [3 * 2 ** -25, 0x0002, 'subnormal tie goes to even (up)'],
    [2 ** -14 - 2 ** -25, 0x0400, 'rounds from the subnormals up into the normals'],
    [1e-10, 0x0000, 'underflow'],
    [-0, 0x8000, 'negative zero'],
    [1 / 3, 0x3555, '1/3'],
  ])('%f -> 0x%s (%s)', (x, bits) => {
    expect(float32ToFloat16Bits(x)).toBe(bits);
  });

  it('NaN stays NaN, Infinity stays Infinity', () => {
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(Number.NaN)))).toBe(true);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
  });
});
