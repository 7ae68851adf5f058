/**
 * The seeded generators keep their exact streams: the expected numbers below were printed by the
 * implementations they replace (tokenizers' mulberry32, core's Rng + hashSeed, the data builder's
 * xoshiro128** Prng), at commit 88e6593, so committed artifacts built from them stay reproducible.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, hashSeed, mix32, Mulberry32, mulberry32, Xoshiro128 } from '../src/index.js';

describe('Mulberry32', () => {
  it('gives the stream of the replaced mulberry32 / Rng (speech assets, weight init)', () => {
    const m = mulberry32(20240529);
    expect([m(), m(), m()]).toEqual([0.9118337947875261, 0.96895707026124, 0.439584570704028]);
    expect(hashSeed(0, 'blocks.0.qkv.weight')).toBe(562544357);
    const r = new Mulberry32(hashSeed(0, 'blocks.0.qkv.weight'));
    expect([r.normal(), r.normal(), r.next()]).toEqual([0.7778109038651518, 0.5023337435325272, 0.1905313185416162]);
  });

  it('continues from its state, and seeds are truncated modulo 2^32', () => {
    const r = new Mulberry32(42);
    r.next();
    const copy = new Mulberry32(r.state);
    expect([r.nextUint32(), r.nextUint32()]).toEqual([copy.nextUint32(), copy.nextUint32()]);
    expect(new Mulberry32(7.9).next()).toBe(new Mulberry32(7).next());
    expect(new Mulberry32(2 ** 32 + 7).next()).toBe(new Mulberry32(7).next());
    expect(() => new Mulberry32(Number.NaN)).toThrow(ConfigError);
  });

  it('int and permutation are uniform (chi-square over 7 bins, 7,000 draws)', () => {
    const q = new Mulberry32(1);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[q.permutation(7)[0]!]++;
    const chi2 = counts.reduce((a, c) => a + (c - 1000) ** 2 / 1000, 0);
    expect(chi2).toBeLessThan(22.46); // p = 0.001 at 6 degrees of freedom
    const p = new Mulberry32(3).permutation(11);
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(11).keys()]);
    expect(() => q.int(0)).toThrow(ConfigError);
    for (let i = 0; i < 100; i++) expect(q.int(3)).toBeLessThan(3);
  });
});

describe('Xoshiro128', () => {
  const labelled = (label: string) => Xoshiro128.fromBytes(createHash('sha256').update(label).digest());

  it('gives the stream of the replaced data-builder Prng (manifest hashes depend on it)', () => {
    const p = labelled('zipper-data/0/split');
    expect([p.nextUint32(), p.next(), p.gaussian(), p.gaussian(), p.int(1000), p.uniform(-2, 3)]).toEqual([
      4094021065, 0.17053270107135177, -1.1623848578173452, 0.11491338556481125, 664, 2.3190793262328953,
    ]);
    expect(labelled('p').shuffle([...Array(13).keys()])).toEqual([6, 10, 2, 3, 11, 8, 5, 12, 1, 9, 7, 0, 4]);
  });

  it('an all-zero seed is moved off the fixed point; short seeds are refused', () => {
    const z = new Xoshiro128(0, 0, 0, 0);
    expect(new Set([z.nextUint32(), z.nextUint32(), z.nextUint32()]).size).toBeGreaterThan(1);
    expect(() => Xoshiro128.fromBytes(new Uint8Array(15))).toThrow(ConfigError);
  });
});

describe('mix32', () => {
  it('is murmur3 fmix32', () => {
    // fmix32(1) from the MurmurHash3 reference implementation
    expect(mix32(1)).toBe(0x514e28b7);
    expect(mix32(0)).toBe(0);
  });
});
