/**
 * Band-limited resampling by a Kaiser-windowed sinc (the method of libresample / resampy):
 * the ideal low-pass filter is cut at `rolloff` x the lower of the two Nyquist rates, so
 * downsampling removes what would alias, and is evaluated from a finely sampled table with
 * linear interpolation, which works for any ratio (44.1 kHz -> 16 kHz, 8 kHz -> 16 kHz, ...).
 */
import { TokenizerConfigError } from '../errors.js';

export interface ResampleOptions {
  /** Zero crossings of the sinc kept on each side (filter length); default 32. */
  readonly zeroCrossings?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency; default 0.9. */
  readonly rolloff?: number;
  /** Kaiser window shape; default 8.6 (about 80 dB stop-band attenuation). */
  readonly beta?: number;
}

const TABLE_STEPS = 512; // table samples per zero crossing

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

const tables = new Map<string, Float64Array>();

/** h(t) = sinc(t) * kaiser(t / Z) for t = j / TABLE_STEPS, j = 0 .. Z * TABLE_STEPS (plus one guard). */
function sincTable(zeroCrossings: number, beta: number): Float64Array {
  const key = `${zeroCrossings}:${beta}`;
  const hit = tables.get(key);
  if (hit) return hit;
  const n = zeroCrossings * TABLE_STEPS;
  const table = new Float64Array(n + 2);
  const i0b = besselI0(beta);
  for (let j = 0; j <= n; j++) {
    const t = j / TABLE_STEPS;
    const sinc = j === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
    const r = t / zeroCrossings;
    table[j] = (sinc * besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r)))) / i0b;
  }
  tables.set(key, table);
  return table;
}

/** Resamples mono audio from `fromRate` to `toRate` Hz. Output length is round(n * toRate / fromRate). */
export function resample(x: Float32Array, fromRate: number, toRate: number, options: ResampleOptions = {}): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new TokenizerConfigError(`sample rates must be positive, got ${fromRate} -> ${toRate}`);
  if (fromRate === toRate) return x.slice();
  const zc = options.zeroCrossings ?? 32;
  const rolloff = options.rolloff ?? 0.9;
  const beta = options.beta ?? 8.6;
  if (!Number.isInteger(zc) || zc < 2) throw new TokenizerConfigError(`zeroCrossings must be an integer >= 2, got ${zc}`);
  if (!(rolloff > 0 && rolloff <= 1)) throw new TokenizerConfigError(`rolloff must be in (0, 1], got ${rolloff}`);
  const table = sincTable(zc, beta);
  const ratio = toRate / fromRate;
  const fc = Math.min(1, ratio) * rolloff; // cutoff in cycles per input sample x 2 (1 = input Nyquist)
  const half = zc / fc; // filter half-width in input samples
  const nOut = Math.max(1, Math.round(x.length * ratio));
  const out = new Float32Array(nOut);
  const n = x.length;
  const stepScale = fc * TABLE_STEPS;
  for (let m = 0; m < nOut; m++) {
    const center = m / ratio;
    const lo = Math.max(0, Math.ceil(center - half));
    const hi = Math.min(n - 1, Math.floor(center + half));
    let acc = 0;
    for (let k = lo; k <= hi; k++) {
      const pos = Math.abs(k - center) * stepScale;
      const j = pos | 0;
      const f = pos - j;
      const w = table[j]! + f * (table[j + 1]! - table[j]!);
      acc += x[k]! * w;
    }
    out[m] = acc * fc;
  }
  return out;
}
