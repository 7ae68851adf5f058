import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@zipper/common';
import { CentroidIndex, kmeansPlusPlus, nearestCentroids, rowSquaredNorms, stackFrames, trainKMeans } from '@zipper/tokenizers';

function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return new Float32Array(rows * cols).map(() => r() * 2 - 1);
}

function bruteNearest(x: Float32Array, N: number, D: number, c: Float32Array, K: number): { ids: number[]; dist: number[] } {
  const ids: number[] = [];
  const dist: number[] = [];
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let arg = -1;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (x[i * D + d]! - c[k * D + d]!) ** 2;
      if (s < best) {
        best = s;
        arg = k;
      }
    }
    ids.push(arg);
    dist.push(best);
  }
  return { ids, dist };
}

describe('nearest centroid (blocked ||c||^2 - 2 x.c)', () => {
  for (const [N, K, D] of [
    [13, 7, 11],
    [7, 13, 3],
    [3, 1, 5],
    [29, 11, 160],
  ] as const) {
    it(`matches brute force for N=${N} K=${K} D=${D} (blocked and remainder paths)`, () => {
      const x = randomMatrix(N, D, N * 100 + K);
      const c = randomMatrix(K, D, D);
      const ids = new Int32Array(N);
      const dist = new Float32Array(N);
      nearestCentroids(x, N, D, c, K, rowSquaredNorms(c, K, D), ids, dist);
      const ref = bruteNearest(x, N, D, c, K);
      expect(Array.from(ids)).toEqual(ref.ids);
      ref.dist.forEach((d, i) => expect(dist[i]).toBeCloseTo(d, 4));
    });
  }
});

describe('k-means', () => {
  /** 5 well-separated blobs in 7 dimensions, 60 points each. */
  function blobs(): { x: Float32Array; centres: Float32Array; label: number[] } {
    const r = mulberry32(7);
    const centres = new Float32Array(5 * 7).map(() => (r() * 2 - 1) * 20);
    const x = new Float32Array(300 * 7);
    const label: number[] = [];
    for (let i = 0; i < 300; i++) {
      const b = i % 5;
      label.push(b);
      for (let d = 0; d < 7; d++) x[i * 7 + d] = centres[b * 7 + d]! + (r() - 0.5) * 0.5;
    }
    return { x, centres, label };
  }

  it('recovers separated clusters, inertia never rises, same seed gives the same centroids', () => {
    const { x, label } = blobs();
    const a = trainKMeans(x, 300, 7, { k: 5, iterations: 20, seed: 3 });
    const b = trainKMeans(x, 300, 7, { k: 5, iterations: 20, seed: 3 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    for (let i = 1; i < a.history.length; i++) expect(a.history[i]!).toBeLessThanOrEqual(a.history[i - 1]! + 1e-9);
    const ids = new Int32Array(300);
    nearestCentroids(x, 300, 7, a.centroids, 5, rowSquaredNorms(a.centroids, 5, 7), ids);
    // the partition equals the true one up to renaming
    const map = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const seen = map.get(label[i]!);
      if (seen === undefined) map.set(label[i]!, ids[i]!);
      else expect(ids[i]).toBe(seen);
    }
    expect(new Set(map.values()).size).toBe(5);
    // within-blob variance of uniform(-0.25, 0.25) noise in 7 dims: 7 * 0.5^2 / 12
    expect(a.history.at(-1)!).toBeCloseTo((7 * 0.25) / 12, 1);
  });

  it('k-means++ picks distinct blobs for its first centres', () => {
    const { x } = blobs();
    const c = kmeansPlusPlus(x, 300, 7, 5, mulberry32(1));
    const ids = new Int32Array(5);
    const { centres } = blobs();
    nearestCentroids(c, 5, 7, centres, 5, rowSquaredNorms(centres, 5, 7), ids);
    expect(new Set(ids).size).toBe(5);
  });

  it('asks for more data when there are fewer frames than units', () => {
    expect(() => trainKMeans(new Float32Array(3 * 2), 3, 2, { k: 5, iterations: 1, seed: 0 })).toThrow(/need at least k = 5 frames/);
  });
});

describe('stackFrames', () => {
  it('concatenates adjacent frames and repeats the last one to fill the final group', () => {
    // T = 7 frames of M = 2: frame t = [t, 10 t]
    const data = new Float32Array(14).map((_, i) => (i % 2 === 0 ? i / 2 : (10 * (i - 1)) / 2));
    const s = stackFrames(data, 7, 2, 3);
    expect([s.frames, s.dim]).toEqual([3, 6]);
    expect(Array.from(s.data.subarray(6, 12))).toEqual([3, 30, 4, 40, 5, 50]);
    expect(Array.from(s.data.subarray(12, 18))).toEqual([6, 60, 6, 60, 6, 60]);
  });
});

describe('CentroidIndex (exact search with cepstral lower bounds)', () => {
  for (const [N, K, stack, M, q] of [
    [13, 11, 3, 7, 2],
    [29, 31, 2, 13, 4],
    [5, 2, 1, 11, 11],
  ] as const) {
    it(`equals brute force: N=${N} K=${K} stack=${stack} M=${M} coefficients=${q}`, () => {
      const D = stack * M;
      // smooth random vectors (energy in low cepstra, as log-mel frames have) plus noise
      const r = mulberry32(N + K);
      const smooth = (rows: number) => {
        const out = new Float32Array(rows * D);
        for (let i = 0; i < rows; i++) {
          const a = r() * 4 - 2,
            b = r() * 2 - 1,
            c = r() - 0.5;
          for (let d = 0; d < D; d++)
            out[i * D + d] = a + b * Math.cos((Math.PI * (d % M)) / M) + c * Math.cos((2 * Math.PI * (d % M)) / M) + 0.3 * (r() - 0.5);
        }
        return out;
      };
      const x = smooth(N);
      const c = smooth(K);
      const idx = new CentroidIndex(c, K, stack, M, q);
      const ids = new Int32Array(N);
      idx.nearest(x, N, ids);
      expect(Array.from(ids)).toEqual(bruteNearest(x, N, D, c, K).ids);
      expect(idx.stats().exactPerVector).toBeGreaterThanOrEqual(1);
      expect(idx.stats().exactPerVector).toBeLessThanOrEqual(K);
      // also on unstructured data, where the bounds prune little
      const xr = randomMatrix(N, D, 3);
      idx.nearest(xr, N, ids);
      expect(Array.from(ids)).toEqual(bruteNearest(xr, N, D, c, K).ids);
    });
  }
});
