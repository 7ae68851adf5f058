/**
 * k-means over feature vectors: seeded k-means++ initialisation (Arthur & Vassilvitskii 2007),
 * Lloyd iterations, and the nearest-centroid search that encoding uses.
 *
 * Nearest centroid: argmin_k ||x - c_k||^2 = argmin_k (||c_k||^2 - 2 x . c_k); ||x||^2 is the
 * same for every k. The loop is blocked over 4 rows x 2 centroids so each loaded value feeds
 * several multiply-adds.
 *
 * Legend: N vectors, K centroids, D dimensions; matrices row-major ([N, D], [K, D]).
 */
import { TokenizerConfigError } from '../errors.js';
import { mulberry32 } from '@zipper/common';

/** ||c_k||^2 for each row of a [K, D] matrix. */
export function rowSquaredNorms(c: Float32Array, K: number, D: number): Float32Array {
  const out = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let d = 0, o = k * D; d < D; d++) s += c[o + d]! * c[o + d]!;
    out[k] = s;
  }
  return out;
}

/**
 * Writes the index of the nearest centroid of each of the N rows of x into `ids`, and, when
 * `dist` is given, the squared distance (computed as ||x||^2 + ||c||^2 - 2 x.c, clamped at 0).
 */
export function nearestCentroids(
  x: Float32Array,
  N: number,
  D: number,
  c: Float32Array,
  K: number,
  cNorm: Float32Array,
  ids: Uint16Array | Int32Array,
  dist?: Float32Array,
): void {
  let i = 0;
  for (; i + 4 <= N; i += 4) {
    const x0 = i * D,
      x1 = x0 + D,
      x2 = x1 + D,
      x3 = x2 + D;
    let b0 = Infinity,
      b1 = Infinity,
      b2 = Infinity,
      b3 = Infinity;
    let a0 = 0,
      a1 = 0,
      a2 = 0,
      a3 = 0;
    let k = 0;
    for (; k + 2 <= K; k += 2) {
      const c0 = k * D,
        c1 = c0 + D;
      let s00 = 0,
        s10 = 0,
        s20 = 0,
        s30 = 0,
        s01 = 0,
        s11 = 0,
        s21 = 0,
        s31 = 0;
      for (let d = 0; d < D; d++) {
        const u = c[c0 + d]!,
          v = c[c1 + d]!;
        const p0 = x[x0 + d]!,
          p1 = x[x1 + d]!,
          p2 = x[x2 + d]!,
          p3 = x[x3 + d]!;
        s00 += p0 * u;
        s10 += p1 * u;
        s20 += p2 * u;
        s30 += p3 * u;
        s01 += p0 * v;
        s11 += p1 * v;
        s21 += p2 * v;
        s31 += p3 * v;
      }
      const nu = cNorm[k]!,
        nv = cNorm[k + 1]!;
      let e = nu - 2 * s00;
      if (e < b0) {
        b0 = e;
        a0 = k;
      }
      e = nu - 2 * s10;
      if (e < b1) {
        b1 = e;
        a1 = k;
      }
      e = nu - 2 * s20;
      if (e < b2) {
        b2 = e;
        a2 = k;
      }
      e = nu - 2 * s30;
      if (e < b3) {
        b3 = e;
        a3 = k;
      }
      e = nv - 2 * s01;
      if (e < b0) {
        b0 = e;
        a0 = k + 1;
      }
      e = nv - 2 * s11;
      if (e < b1) {
        b1 = e;
        a1 = k + 1;
      }
      e = nv - 2 * s21;
      if (e < b2) {
        b2 = e;
        a2 = k + 1;
      }
      e = nv - 2 * s31;
      if (e < b3) {
        b3 = e;
        a3 = k + 1;
      }
    }
    for (; k < K; k++) {
      const c0 = k * D;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let d = 0; d < D; d++) {
        const u = c[c0 + d]!;
        s0 += x[x0 + d]! * u;
        s1 += x[x1 + d]! * u;
        s2 += x[x2 + d]! * u;
        s3 += x[x3 + d]! * u;
      }
      const nu = cNorm[k]!;
      let e = nu - 2 * s0;
      if (e < b0) {
        b0 = e;
        a0 = k;
      }
      e = nu - 2 * s1;
      if (e < b1) {
        b1 = e;
        a1 = k;
      }
      e = nu - 2 * s2;
      if (e < b2) {
        b2 = e;
        a2 = k;
      }
      e = nu - 2 * s3;
      if (e < b3) {
        b3 = e;
        a3 = k;
      }
    }
    ids[i] = a0;
    ids[i + 1] = a1;
    ids[i + 2] = a2;
    ids[i + 3] = a3;
    if (dist) {
      dist[i] = b0;
      dist[i + 1] = b1;
      dist[i + 2] = b2;
      dist[i + 3] = b3;
    }
  }
  for (; i < N; i++) {
    const x0 = i * D;
    let best = Infinity,
      arg = 0;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0, c0 = k * D; d < D; d++) s += x[x0 + d]! * c[c0 + d]!;
      const e = cNorm[k]! - 2 * s;
      if (e < best) {
        best = e;
        arg = k;
      }
    }
    ids[i] = arg;
    if (dist) dist[i] = best;
  }
  if (dist) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let d = 0, o = j * D; d < D; d++) s += x[o + d]! * x[o + d]!;
      dist[j] = Math.max(0, dist[j]! + s);
    }
  }
}

export interface KMeansOptions {
  readonly k: number;
  /** Lloyd iterations after k-means++ (stops early when no assignment changes). */
  readonly iterations: number;
  readonly seed: number;
  /** Train on a uniform sample of at most this many rows (default: all). */
  readonly maxSamples?: number;
  /** Called after each iteration with the mean squared distance (inertia / N). */
  readonly onIteration?: (iteration: number, meanSquaredDistance: number) => void;
}

export interface KMeansResult {
  readonly centroids: Float32Array; // [K, D]
  /** Mean squared distance after k-means++ and after each Lloyd iteration. */
  readonly history: readonly number[];
}

function sampleRows(x: Float32Array, N: number, D: number, n: number, rand: () => number): Float32Array {
  if (n >= N) return x.slice(0, N * D);
  const idx = Int32Array.from({ length: N }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (N - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) out.set(x.subarray(idx[i]! * D, idx[i]! * D + D), i * D);
  return out;
}

/** k-means++ seeding: each next centre drawn with probability proportional to D(x)^2. */
export function kmeansPlusPlus(x: Float32Array, N: number, D: number, K: number, rand: () => number): Float32Array {
  const c = new Float32Array(K * D);
  const minD = new Float64Array(N).fill(Infinity);
  let pick = Math.floor(rand() * N);
  for (let k = 0; k < K; k++) {
    c.set(x.subarray(pick * D, pick * D + D), k * D);
    let total = 0;
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let d = 0, o = i * D, q = k * D; d < D; d++) {
        const diff = x[o + d]! - c[q + d]!;
        s += diff * diff;
      }
      if (s < minD[i]!) minD[i] = s;
      total += minD[i]!;
    }
    if (k + 1 === K) break;
    if (total <= 0) {
      pick = Math.floor(rand() * N); // all points coincide with centres: any choice is as good
      continue;
    }
    let r = rand() * total;
    pick = N - 1;
    for (let i = 0; i < N; i++) {
      r -= minD[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

/** Seeded k-means (k-means++ then Lloyd) over the rows of x ([N, D]). */
export function trainKMeans(x: Float32Array, N: number, D: number, o: KMeansOptions): KMeansResult {
  if (!Number.isInteger(o.k) || o.k < 1) throw new TokenizerConfigError(`k must be a positive integer, got ${o.k}`);
  const rand = mulberry32(o.seed);
  const data = sampleRows(x, N, D, o.maxSamples ?? N, rand);
  const n = data.length / D;
  if (n < o.k) throw new TokenizerConfigError(`need at least k = ${o.k} frames to train on, got ${n}; give more audio or fewer units`);
  const K = o.k;
  const c = kmeansPlusPlus(data, n, D, K, rand);
  const ids = new Int32Array(n);
  const prev = new Int32Array(n).fill(-1);
  const dist = new Float32Array(n);
  const history: number[] = [];
  const sums = new Float64Array(K * D);
  const counts = new Int32Array(K);
  for (let it = 0; ; it++) {
    nearestCentroids(data, n, D, c, K, rowSquaredNorms(c, K, D), ids, dist);
    let inertia = 0;
    let changed = 0;
    for (let i = 0; i < n; i++) {
      inertia += dist[i]!;
      if (ids[i] !== prev[i]) changed++;
    }
    history.push(inertia / n);
    o.onIteration?.(it, inertia / n);
    if (it === o.iterations || changed === 0) break;
    prev.set(ids);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const k = ids[i]!;
      counts[k]!++;
      for (let d = 0; d < D; d++) sums[k * D + d]! += data[i * D + d]!;
    }
    for (let k = 0; k < K; k++) {
      if (counts[k] === 0) {
        // empty cluster: move it to the point farthest from its centre
        let far = 0;
        for (let i = 1; i < n; i++) if (dist[i]! > dist[far]!) far = i;
        c.set(data.subarray(far * D, far * D + D), k * D);
        dist[far] = 0;
        continue;
      }
      for (let d = 0; d < D; d++) c[k * D + d] = sums[k * D + d]! / counts[k]!;
    }
  }
  return { centroids: c, history };
}

/**
 * Concatenates `stack` adjacent frames ([T, M] -> [ceil(T / stack), stack * M]); a short last
 * group repeats the final frame.
 */
export function stackFrames(data: Float32Array, T: number, M: number, stack: number): { data: Float32Array; frames: number; dim: number } {
  if (stack === 1) return { data, frames: T, dim: M };
  const U = Math.ceil(T / stack);
  const out = new Float32Array(U * stack * M);
  for (let u = 0; u < U; u++) {
    for (let s = 0; s < stack; s++) {
      const t = Math.min(T - 1, u * stack + s);
      out.set(data.subarray(t * M, t * M + M), (u * stack + s) * M);
    }
  }
  return { data: out, frames: U, dim: stack * M };
}
