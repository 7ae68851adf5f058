/**
 * Mel filterbank (HTK mel scale, triangular filters, unit peak: torchaudio's
 * `melscale_fbanks(norm=None, mel_scale="htk")`), its application to power spectra, and two
 * ways back from mel energies to a linear power spectrum: the clipped pseudo-inverse and
 * non-negative least squares by multiplicative updates (Lee & Seung 2001).
 *
 * Legend: M mel bands, Fb = nFft / 2 + 1 frequency bins. The matrix is row-major [M, Fb].
 */
import type { LogMelConfig } from './config.js';

export const hzToMel = (f: number): number => 2595 * Math.log10(1 + f / 700);
export const melToHz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

/** A filterbank: dense [M, Fb] weights plus each band's non-zero bin range for fast products. */
export interface MelFilterbank {
  readonly nMels: number;
  readonly nBins: number;
  readonly weights: Float64Array;
  /** First non-zero bin of each band, and one past the last. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

type MelParams = Pick<LogMelConfig, 'sampleRate' | 'nFft' | 'nMels' | 'fMin' | 'fMax'>;

export function melFilterbank(c: MelParams): MelFilterbank {
  const nBins = c.nFft / 2 + 1;
  const mMin = hzToMel(c.fMin);
  const mMax = hzToMel(c.fMax);
  const hz = Array.from({ length: c.nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (c.nMels + 1)));
  const weights = new Float64Array(c.nMels * nBins);
  const lo = new Int32Array(c.nMels).fill(nBins);
  const hi = new Int32Array(c.nMels).fill(0);
  for (let m = 0; m < c.nMels; m++) {
    const [left, centre, right] = [hz[m]!, hz[m + 1]!, hz[m + 2]!];
    for (let k = 0; k < nBins; k++) {
      const f = (k * c.sampleRate) / c.nFft;
      const w = Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre)));
      if (w > 0) {
        weights[m * nBins + k] = w;
        lo[m] = Math.min(lo[m]!, k);
        hi[m] = k + 1;
      }
    }
    if (hi[m]! <= lo[m]!) lo[m] = hi[m] = 0; // an empty band (too narrow for the FFT resolution)
  }
  return { nMels: c.nMels, nBins, weights, lo, hi };
}

/** mel[m] = sum_k W[m, k] * power[k] for one frame. */
export function applyFilterbank(
  fb: MelFilterbank,
  power: ArrayLike<number>,
  pOff: number,
  out: Float64Array | Float32Array,
  oOff: number,
): void {
  const { weights, lo, hi, nBins } = fb;
  for (let m = 0; m < fb.nMels; m++) {
    let s = 0;
    const row = m * nBins;
    for (let k = lo[m]!; k < hi[m]!; k++) s += weights[row + k]! * power[pOff + k]!;
    out[oOff + m] = s;
  }
}

/** Solves A x = b for symmetric positive definite A (n x n, row-major) by Cholesky; A is overwritten. */
function choleskySolveInPlace(a: Float64Array, n: number, rhs: Float64Array, nRhs: number): void {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    const ljj = Math.sqrt(Math.max(d, 1e-300));
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / ljj;
    }
  }
  for (let r = 0; r < nRhs; r++) {
    // forward then backward substitution on column r of rhs ([n, nRhs] row-major)
    for (let i = 0; i < n; i++) {
      let s = rhs[i * nRhs + r]!;
      for (let k = 0; k < i; k++) s -= a[i * n + k]! * rhs[k * nRhs + r]!;
      rhs[i * nRhs + r] = s / a[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = rhs[i * nRhs + r]!;
      for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * rhs[k * nRhs + r]!;
      rhs[i * nRhs + r] = s / a[i * n + i]!;
    }
  }
}

/**
 * Moore-Penrose pseudo-inverse W^T (W W^T + ridge I)^-1, [Fb, M] row-major. The tiny ridge
 * (relative to the mean diagonal) keeps empty or nearly collinear bands solvable.
 */
export function melPseudoInverse(fb: MelFilterbank, ridge = 1e-6): Float64Array {
  const { nMels: M, nBins: F, weights: W } = fb;
  const g = new Float64Array(M * M);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < F; k++) s += W[i * F + k]! * W[j * F + k]!;
      g[i * M + j] = g[j * M + i] = s;
    }
  }
  let trace = 0;
  for (let i = 0; i < M; i++) trace += g[i * M + i]!;
  for (let i = 0; i < M; i++) g[i * M + i]! += (ridge * trace) / M + 1e-12;
  // Solve G X = W for X ([M, F]); then pinv = X^T ([F, M]).
  const x = new Float64Array(W);
  choleskySolveInPlace(g, M, x, F);
  const pinv = new Float64Array(F * M);
  for (let m = 0; m < M; m++) for (let k = 0; k < F; k++) pinv[k * M + m] = x[m * F + k]!;
  return pinv;
}

/**
 * Linear power spectrum from one frame of mel energies: the clipped pseudo-inverse, optionally
 * refined by `nnlsIterations` multiplicative updates x <- x * (W^T y) / (W^T W x), which keep x
 * non-negative and decrease ||W x - y||^2.
 */
export function invertMelFrame(
  fb: MelFilterbank,
  pinv: Float64Array,
  mel: ArrayLike<number>,
  mOff: number,
  nnlsIterations: number,
  out: Float64Array,
  oOff: number,
  scratch: { wty: Float64Array; wx: Float64Array; den: Float64Array },
): void {
  const { nMels: M, nBins: F, weights: W, lo, hi } = fb;
  let peak = 0;
  for (let m = 0; m < M; m++) peak = Math.max(peak, mel[mOff + m]!);
  const eps = 1e-9 * peak + 1e-30;
  for (let k = 0; k < F; k++) {
    let s = 0;
    for (let m = 0; m < M; m++) s += pinv[k * M + m]! * mel[mOff + m]!;
    out[oOff + k] = s;
  }
  if (nnlsIterations === 0) {
    for (let k = 0; k < F; k++) out[oOff + k] = Math.max(0, out[oOff + k]!);
    return;
  }
  const { wty, wx, den } = scratch;
  wty.fill(0);
  for (let m = 0; m < M; m++) for (let k = lo[m]!; k < hi[m]!; k++) wty[k]! += W[m * F + k]! * mel[mOff + m]!;
  for (let k = 0; k < F; k++) out[oOff + k] = wty[k]! > 0 ? Math.max(out[oOff + k]!, eps) : 0;
  for (let it = 0; it < nnlsIterations; it++) {
    for (let m = 0; m < M; m++) {
      let s = 0;
      for (let k = lo[m]!; k < hi[m]!; k++) s += W[m * F + k]! * out[oOff + k]!;
      wx[m] = s;
    }
    den.fill(0);
    for (let m = 0; m < M; m++) for (let k = lo[m]!; k < hi[m]!; k++) den[k]! += W[m * F + k]! * wx[m]!;
    for (let k = 0; k < F; k++) if (wty[k]! > 0) out[oOff + k]! *= wty[k]! / (den[k]! + 1e-30);
  }
}
