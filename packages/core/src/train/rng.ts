/**
 * A small seeded PRNG whose whole state is one uint32, so it can be saved in a checkpoint
 * (SplitMix32 variant: a Weyl sequence through an integer hash). Not for cryptography.
 */
export class ShuffleRng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The whole state: `new ShuffleRng(rng.state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  /** Next uint32. */
  nextUint32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    return mix32(this.s);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), n <= 2^32 (rejection sampling: no modulo bias). */
  int(n: number): number {
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

/** An avalanche hash of a uint32 (murmur3 finalizer constants). */
export function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
