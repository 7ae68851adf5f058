// The seeded, resumable batch iterator (pure JS: no tensors involved).
import { describe, expect, it } from 'vitest';
import { BatchIterator, concatBatches, type Batch } from '../src/train/data.js';
import { ShuffleRng } from '../src/train/rng.js';
import { CheckpointError, ShapeError } from '../src/errors.js';

const seqs = Array.from({ length: 5 }, (_, s) => Array.from({ length: 11 + 3 * s }, (_, i) => (s * 100 + i) % 13));

function rows(b: Batch): string[] {
  return Array.from({ length: b.batchSize }, (_, r) => Array.from(b.inputs.slice(r * b.seqLen, (r + 1) * b.seqLen)).join(','));
}

describe('BatchIterator', () => {
  it('cuts T+1 windows, pads and masks the tail, and shifts targets by one', () => {
    const it7 = new BatchIterator([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]], { batchSize: 2, seqLen: 7, shuffle: false });
    expect(it7.size).toBe(2); // windows start at 0 and 7
    const b = it7.next();
    expect(Array.from(b.inputs)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0]);
    expect(Array.from(b.targets)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0]);
    expect(Array.from(b.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('applies a per-token mask to targets and skips windows with nothing to learn', () => {
    const tokens = [5, 6, 7, 8, 9, 10, 11, 12];
    const mask = [0, 0, 0, 1, 1, 0, 0, 0]; // learn to predict tokens 3 and 4 only
    const it = new BatchIterator(
      [
        { tokens, mask },
        { tokens: [1, 2, 3], mask: [1, 0, 0] },
      ],
      { batchSize: 1, seqLen: 7, shuffle: false },
    );
    expect(it.size).toBe(1); // the second sequence has no counted target
    const b = it.next();
    expect(Array.from(b.mask)).toEqual([0, 0, 1, 1, 0, 0, 0]);
    expect(() => new BatchIterator([{ tokens: [1, 2], mask: [1] }], { batchSize: 1, seqLen: 3 })).toThrow(ShapeError);
    expect(() => new BatchIterator([[4]], { batchSize: 1, seqLen: 3 })).toThrow(/no training window/);
  });

  it('visits every window once per epoch in a seed-dependent order and continues across epochs', () => {
    const a = new BatchIterator(seqs, { batchSize: 3, seqLen: 7, seed: 11 });
    const n = a.size;
    expect(n).toBe(2 + 2 + 3 + 3 + 4); // lengths 11, 14, 17, 20, 23 with T = 7
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) seen.push(...rows(a.next())); // 15 windows: 1 epoch + 1
    expect(new Set(seen.slice(0, n)).size).toBe(n);
    expect(a.state).toEqual({ seed: 11, epoch: 1, cursor: 1, windows: n });
    const b = new BatchIterator(seqs, { batchSize: 3, seqLen: 7, seed: 12 });
    const other: string[] = [];
    for (let i = 0; i < 5; i++) other.push(...rows(b.next()));
    expect(other.slice(0, n)).not.toEqual(seen.slice(0, n));
    expect([...other.slice(0, n)].sort()).toEqual([...seen.slice(0, n)].sort());
    // Epoch 1's order differs from epoch 0's.
    const c = new BatchIterator(seqs, { batchSize: n, seqLen: 7, seed: 11 });
    expect(rows(c.next())).not.toEqual(rows(c.next()));
  });

  it('restores a saved position exactly and refuses another seed or other data', () => {
    const a = new BatchIterator(seqs, { batchSize: 3, seqLen: 7, seed: 7 });
    for (let i = 0; i < 4; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state));
    const expected = [a.next(), a.next(), a.next()].map(rows);
    const fresh = new BatchIterator(seqs, { batchSize: 3, seqLen: 7, seed: 7 });
    fresh.restore(saved);
    expect([fresh.next(), fresh.next(), fresh.next()].map(rows)).toEqual(expected);
    expect(() => new BatchIterator(seqs, { batchSize: 3, seqLen: 7, seed: 8 }).restore(saved)).toThrow(CheckpointError);
    expect(() => new BatchIterator(seqs.slice(1), { batchSize: 3, seqLen: 7, seed: 7 }).restore(saved)).toThrow(/windows/);
  });

  it('concatBatches stacks rows in order', () => {
    const a = new BatchIterator(seqs, { batchSize: 2, seqLen: 7, seed: 3 });
    const x = a.next();
    const y = a.next();
    const big = concatBatches([x, y]);
    expect(big.batchSize).toBe(4);
    expect(rows(big)).toEqual([...rows(x), ...rows(y)]);
  });
});

describe('ShuffleRng', () => {
  it('is reproducible from its state and gives unbiased-looking permutations', () => {
    const r = new ShuffleRng(42);
    r.next();
    const copy = new ShuffleRng(r.state);
    expect([r.nextUint32(), r.nextUint32()]).toEqual([copy.nextUint32(), copy.nextUint32()]);
    const counts = new Array(7).fill(0);
    const q = new ShuffleRng(1);
    for (let i = 0; i < 7000; i++) counts[q.permutation(7)[0]!]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});
