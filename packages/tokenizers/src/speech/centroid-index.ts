/**
 * Exact nearest-centroid search that skips most centroids.
 *
 * Project every vector on the first p basis vectors of an orthonormal transform that packs
 * log-mel energy into few coefficients (the DCT-II along the mel axis of each stacked frame, i.e.
 * cepstra). For the projection x_p and the rest x_r (||x_r||^2 = ||x||^2 - ||x_p||^2 because the
 * basis is orthonormal), Cauchy-Schwarz gives a lower bound of the search score:
 *
 *   ||c||^2 - 2 x.c  >=  ||c||^2 - 2 x_p.c_p - 2 ||x_r|| ||c_r||
 *
 * The bound costs p multiply-adds per centroid instead of D; only centroids whose bound is below
 * the best exact score so far get the exact score (||c||^2 - 2 x.c over all D dimensions). The
 * answer is the brute-force argmin (up to float rounding on exact ties).
 *
 * Legend: K centroids, D = stack * M dimensions, M mel bands, p projected dimensions.
 */
import { rowSquaredNorms } from './kmeans.js';

export interface CentroidIndexStats {
  /** Exact scores computed per searched vector (the brute force computes K). */
  readonly exactPerVector: number;
}

export class CentroidIndex {
  readonly K: number;
  readonly D: number;
  readonly p: number;
  private readonly basis: Float64Array; // [p, D] orthonormal rows
  private readonly cp: Float64Array; // [K, p] projected centroids
  private readonly cNorm: Float32Array; // ||c||^2
  private readonly cRest: Float64Array; // ||c_r||
  private searched = 0;
  private exact = 0;

  constructor(
    private readonly centroids: Float32Array,
    K: number,
    stack: number,
    nMels: number,
    /** Cepstral coefficients kept per stacked frame (p = stack * coefficients). */
    coefficients = 4,
  ) {
    const M = nMels;
    const D = stack * M;
    const q = Math.min(coefficients, M);
    this.K = K;
    this.D = D;
    this.p = stack * q;
    // row (j, s): orthonormal DCT-II coefficient j of stacked frame s
    this.basis = new Float64Array(this.p * D);
    for (let j = 0; j < q; j++) {
      const scale = j === 0 ? Math.sqrt(1 / M) : Math.sqrt(2 / M);
      for (let s = 0; s < stack; s++) {
        const row = (j * stack + s) * D;
        for (let m = 0; m < M; m++) this.basis[row + s * M + m] = scale * Math.cos((Math.PI * j * (m + 0.5)) / M);
      }
    }
    this.cNorm = rowSquaredNorms(centroids, K, D);
    this.cp = new Float64Array(K * this.p);
    this.cRest = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const pp = this.project(centroids, k * D, this.cp, k * this.p);
      this.cRest[k] = Math.sqrt(Math.max(0, this.cNorm[k]! - pp));
    }
  }

  /** Writes the p projections of v[off .. off + D) to out[oOff ..]; returns their squared norm. */
  private project(v: Float32Array, off: number, out: Float64Array, oOff: number): number {
    const { p, D, basis } = this;
    let sq = 0;
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let d = 0, b = i * D; d < D; d++) s += basis[b + d]! * v[off + d]!;
      out[oOff + i] = s;
      sq += s * s;
    }
    return sq;
  }

  private exactScore(x: Float32Array, off: number, k: number): number {
    const { D, centroids: c } = this;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    const o = k * D;
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      s0 += x[off + d]! * c[o + d]!;
      s1 += x[off + d + 1]! * c[o + d + 1]!;
      s2 += x[off + d + 2]! * c[o + d + 2]!;
      s3 += x[off + d + 3]! * c[o + d + 3]!;
    }
    for (; d < D; d++) s0 += x[off + d]! * c[o + d]!;
    return this.cNorm[k]! - 2 * (s0 + s1 + s2 + s3);
  }

  /**
   * Nearest centroid of each of the N rows of x ([N, D]); rows go through in blocks of 4. With
   * `distances` ([N]), each row's squared Euclidean distance to its centroid is written there too.
   */
  nearest(x: Float32Array, N: number, ids: Uint16Array | Int32Array, distances?: Float64Array): void {
    const { K, D, p, cp, cNorm, cRest } = this;
    const B = 4;
    const xp = new Float64Array(B * p);
    const xx = new Float64Array(B);
    const xr2 = new Float64Array(B);
    const lb = new Float64Array(B * K);
    for (let i0 = 0; i0 < N; i0 += B) {
      const rows = Math.min(B, N - i0);
      for (let r = 0; r < B; r++) {
        if (r >= rows) {
          // pad the block with a copy of its first row (results unused)
          xp.copyWithin(r * p, 0, p);
          xr2[r] = xr2[0]!;
          continue;
        }
        const off = (i0 + r) * D;
        let sq = 0;
        for (let d = 0; d < D; d++) sq += x[off + d]! * x[off + d]!;
        xx[r] = sq;
        xr2[r] = 2 * Math.sqrt(Math.max(0, sq - this.project(x, off, xp, r * p)));
      }
      // lower bounds for 4 rows at once: each projected centroid is loaded once, used 4 times
      const q0 = 0,
        q1 = p,
        q2 = 2 * p,
        q3 = 3 * p;
      const w0 = xr2[0]!,
        w1 = xr2[1]!,
        w2 = xr2[2]!,
        w3 = xr2[3]!;
      for (let k = 0; k < K; k++) {
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0;
        for (let j = 0, o = k * p; j < p; j++) {
          const c = cp[o + j]!;
          s0 += xp[q0 + j]! * c;
          s1 += xp[q1 + j]! * c;
          s2 += xp[q2 + j]! * c;
          s3 += xp[q3 + j]! * c;
        }
        const n = cNorm[k]!,
          cr = cRest[k]!;
        lb[k] = n - 2 * s0 - w0 * cr;
        lb[K + k] = n - 2 * s1 - w1 * cr;
        lb[2 * K + k] = n - 2 * s2 - w2 * cr;
        lb[3 * K + k] = n - 2 * s3 - w3 * cr;
      }
      for (let r = 0; r < rows; r++) {
        const off = (i0 + r) * D;
        const base = r * K;
        let arg = 0;
        let low = Infinity;
        for (let k = 0; k < K; k++)
          if (lb[base + k]! < low) {
            low = lb[base + k]!;
            arg = k;
          }
        let best = this.exactScore(x, off, arg);
        let exact = 1;
        // slack covers float rounding of the scores (relative to the magnitudes involved)
        const slack = 1e-5 * (xx[r]! + Math.abs(best)) + 1e-9;
        for (let k = 0; k < K; k++) {
          if (k === arg || lb[base + k]! > best + slack) continue;
          const e = this.exactScore(x, off, k);
          exact++;
          if (e < best || (e === best && k < arg)) {
            best = e;
            arg = k;
          }
        }
        ids[i0 + r] = arg;
        // ||x - c||^2 = ||x||^2 + (||c||^2 - 2 x.c); rounding may leave a tiny negative
        if (distances) distances[i0 + r] = Math.max(0, xx[r]! + best);
        this.searched++;
        this.exact += exact;
      }
    }
  }

  stats(): CentroidIndexStats {
    return { exactPerVector: this.searched ? this.exact / this.searched : 0 };
  }
}
