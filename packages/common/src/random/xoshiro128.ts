/**
 * xoshiro128** (Blackman & Vigna): a 128-bit-state generator, seeded from 16 bytes (the data
 * builder seeds it from SHA-256 of a label, so every labelled decision gets its own stream).
 *
 * Kept next to `Mulberry32` rather than replaced by it because committed results depend on its
 * exact output: `zipper data build` manifests keep their sha256 for a given seed (docs/data.md),
 * and their splits, voices, effects and noise all come from this stream.
 */
import { ConfigError } from '../errors.js';

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  /** State from four uint32 words; an all-zero state (a fixed point) becomes [1, 0, 0, 0]. */
  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** State from the first 16 bytes of `seed` (four little-endian uint32), e.g. a SHA-256 digest. */
  static fromBytes(seed: Uint8Array): Xoshiro128 {
    if (seed.length < 16) throw new ConfigError(`Xoshiro128 needs at least 16 seed bytes, got ${seed.length}`);
    const v = new DataView(seed.buffer, seed.byteOffset, 16);
    return new Xoshiro128(v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true));
  }

  /** Next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n) as floor(next() * n) (bias below n / 2^32; kept for the manifests' sake). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, both values of a pair used). */
  gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle into a new array. */
  shuffle<T>(xs: readonly T[]): T[] {
    const out = xs.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
