/**
 * Mulberry32 (Tommy Ettinger's 32-bit generator: a Weyl sequence through an integer hash), the
 * project's seeded PRNG. Its whole state is one uint32, so it can be saved (`state`) and resumed
 * (`new Mulberry32(state)`), and the same seed gives the same stream on every machine and
 * backend. Not for cryptography.
 *
 * What it feeds (and must keep bit for bit): tower weight init (`initParam`, checked against
 * PyTorch goldens in tools/interop), sampling in `generate`, training data order, k-means++ and
 * Griffin-Lim phases of the speech tokenizer (the committed default tokenizer in
 * packages/speech/assets rebuilds bit-identically from it). The data builder uses
 * `Xoshiro128` instead (see xoshiro128.ts for why).
 */
import { ConfigError } from '../errors.js';

export class Mulberry32 {
  private a: number;

  /** Any finite seed; it is truncated to an integer and taken modulo 2^32. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new ConfigError(`seed must be a finite number, got ${seed}`);
    this.a = Math.trunc(seed) >>> 0;
  }

  /** The whole state: `new Mulberry32(rng.state)` continues the same sequence. */
  get state(): number {
    return this.a;
  }

  /** Next uint32. */
  nextUint32(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box-Muller, one value per two uniforms). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n), 1 <= n <= 2^32 (rejection sampling: no modulo bias). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new ConfigError(`int(n) needs an integer n in [1, 2^32], got ${n}`);
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

/** `Mulberry32(seed).next` as a function: uniform numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  const r = new Mulberry32(seed);
  return () => r.next();
}
