/**
 * IEEE 754 binary16 <-> binary32 conversion on bit patterns, rounding to nearest, ties to even.
 * Overflow rounds to +-Infinity, tiny values to (signed) zero or a subnormal; NaN stays NaN.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest to x (ties to even). */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // float16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e > 0) return sign | ((e << 10) + roundShift(mant, 13)); // a mantissa carry bumps the exponent (up to Infinity), as it should
  // subnormal float16: value = m * 2^-24, with the implicit bit made explicit
  const shift = 14 - e; // >= 14
  if (shift > 24) return sign;
  return sign | roundShift(mant | 0x800000, shift);
}

/** m >> shift rounded to nearest, ties to even. */
function roundShift(m: number, shift: number): number {
  const q = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rem > half || (rem === half && (q & 1) === 1) ? q + 1 : q;
}

/** The value of a float16 bit pattern. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function float32ArrayToFloat16(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = float32ToFloat16Bits(a[i] as number);
  return out;
}

/** Every float16 bit pattern's value (256 KiB), built on first use: loading a float16 checkpoint is a lookup per weight. */
let valueOfBits: Float32Array | undefined;

export function float16ArrayToFloat32(a: Uint16Array): Float32Array {
  if (!valueOfBits) {
    valueOfBits = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) valueOfBits[h] = float16BitsToFloat32(h); // every float16 is exact in float32
  }
  const table = valueOfBits;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = table[a[i] as number] as number;
  return out;
}

/** bfloat16 (the top half of a float32) -> float32, for reading checkpoints stored that way. */
export function bfloat16ArrayToFloat32(a: Uint16Array): Float32Array {
  const bits = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) bits[i] = (a[i] as number) << 16;
  return new Float32Array(bits.buffer);
}
