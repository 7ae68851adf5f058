/**
 * Paired bootstrap over utterances (Koehn 2004; Bisani & Ney 2004): how far the corpus error rate
 * of one system's hypotheses (`b`) is from another's (`a`) on the same references, and how sure
 * that difference is given the finite test set.
 *
 *   delta  = rate(b) - rate(a)                    on the corpus as scored (negative: b is better)
 *   resample s: draw n utterance indices with replacement, the same draw for a and b;
 *              delta_s = (sum errors_b - sum errors_a) / sum reference tokens   over the draw
 *   interval = percentiles (1 - level) / 2 and (1 + level) / 2 of delta_s (linear interpolation
 *              between order statistics, numpy's default)
 *   fractionBLower = share of resamples with delta_s < 0
 *
 * It measures the sampling noise of the test set only, not the noise between training runs (seeds,
 * data order): two runs of one recipe can differ by more than this interval.
 * A resample whose drawn references hold no token has delta 0 when both error sums are equal,
 * else +-Infinity (as the corpus rate is, see wer.ts).
 */
import { Mulberry32 } from '@zipper/common';
import { EvalError } from './errors.js';
import type { ErrorCounts, UtteranceScore } from './wer.js';

export interface BootstrapOptions {
  /** Resamples; an integer >= 100. Default 1000. */
  readonly samples?: number;
  /** Seed of the draws (Mulberry32). Default 0. */
  readonly seed?: number;
  /** Coverage of the interval, in (0, 1). Default 0.95. */
  readonly level?: number;
  /** Score words (WER) or characters (CER). Default 'words'. */
  readonly unit?: 'words' | 'chars';
}

export interface PairedBootstrap {
  readonly unit: 'words' | 'chars';
  readonly samples: number;
  readonly seed: number;
  readonly level: number;
  readonly utterances: number;
  /** Corpus rates of a and b on the utterances as given. */
  readonly a: number;
  readonly b: number;
  /** b - a on the utterances as given. */
  readonly delta: number;
  /** The percentile interval of b - a over the resamples. */
  readonly low: number;
  readonly high: number;
  /** Share of resamples where b's rate is below a's. */
  readonly fractionBLower: number;
}

function resolve(options: BootstrapOptions): Required<BootstrapOptions> {
  const { samples = 1000, seed = 0, level = 0.95, unit = 'words' } = options;
  if (!Number.isInteger(samples) || samples < 100) throw new EvalError(`samples must be an integer >= 100, got ${samples}`);
  if (!Number.isInteger(seed) || seed < 0) throw new EvalError(`seed must be a non-negative integer, got ${seed}`);
  if (!(level > 0 && level < 1)) throw new EvalError(`level must be in (0, 1), got ${level}`);
  if (unit !== 'words' && unit !== 'chars') throw new EvalError(`unit must be "words" or "chars", got ${String(unit)}`);
  return { samples, seed, level, unit };
}

/** Errors over reference tokens, with wer.ts's convention for an empty reference. */
function ratio(errors: number, n: number): number {
  return n > 0 ? errors / n : errors === 0 ? 0 : errors > 0 ? Infinity : -Infinity;
}

/** Percentile q in [0, 1] of ascending `sorted`, interpolating linearly between order statistics. */
function percentile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  if (a === b || !Number.isFinite(a) || !Number.isFinite(b)) return at - lo < 0.5 ? a : b;
  return a + (at - lo) * (b - a);
}

/**
 * Paired bootstrap of `b` against `a`: both the per-utterance scores of `scoreCorpus(refs, hyps)`
 * on the same references in the same order. Throws EvalError when they are not.
 */
export function pairedBootstrap(
  a: readonly UtteranceScore[],
  b: readonly UtteranceScore[],
  options: BootstrapOptions = {},
): PairedBootstrap {
  const { samples, seed, level, unit } = resolve(options);
  if (a.length !== b.length)
    throw new EvalError(`a has ${a.length} utterances but b has ${b.length}; score both against the same references`);
  if (a.length === 0) throw new EvalError('no utterances to resample');
  const n = a.length;
  const refTokens = new Float64Array(n);
  const errA = new Float64Array(n);
  const errB = new Float64Array(n);
  const errors = (c: ErrorCounts) => c.sub + c.del + c.ins;
  for (let i = 0; i < n; i++) {
    const ua = a[i]!;
    const ub = b[i]!;
    if (ua.ref !== ub.ref) throw new EvalError(`utterance ${i}: a and b were scored against different references`);
    refTokens[i] = ua[unit].n;
    errA[i] = errors(ua[unit]);
    errB[i] = errors(ub[unit]);
  }
  const total = (xs: Float64Array) => xs.reduce((s, x) => s + x, 0);
  const N = total(refTokens);
  const sumA = total(errA);
  const sumB = total(errB);
  const rng = new Mulberry32(seed);
  const deltas = new Float64Array(samples);
  let lower = 0;
  for (let s = 0; s < samples; s++) {
    let tokens = 0;
    let diff = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      tokens += refTokens[i]!;
      diff += errB[i]! - errA[i]!;
    }
    const d = ratio(diff, tokens);
    deltas[s] = d;
    if (d < 0) lower++;
  }
  deltas.sort();
  return {
    unit,
    samples,
    seed,
    level,
    utterances: n,
    a: ratio(sumA, N),
    b: ratio(sumB, N),
    delta: ratio(sumB - sumA, N),
    low: percentile(deltas, (1 - level) / 2),
    high: percentile(deltas, (1 + level) / 2),
    fractionBLower: lower / samples,
  };
}
