/**
 * Bootstrap over utterances (Koehn 2004; Bisani & Ney 2004): how sure a corpus error rate, or the
 * difference of two systems' rates, is given the finite test set.
 *
 * Both statistics are a ratio of sums over utterances, sum_i v_i / sum_i n_i, with n_i the
 * reference tokens of utterance i:
 *   bootstrapInterval  v_i = mean over the k systems of errors_i   (k = 1: one system's corpus rate;
 *                      k > 1: several decodes of one model, e.g. TTS seeds, whose mean rate is
 *                      reported; each rate has the same denominator, so the ratio is their mean)
 *   pairedBootstrap    v_i = errors_b,i - errors_a,i               (rate(b) - rate(a); negative: b is better)
 *   resample s: draw n utterance indices with replacement (one draw for every system);
 *               stat_s = sum v / sum n over the draw
 *   interval = percentiles (1 - level) / 2 and (1 + level) / 2 of stat_s (linear interpolation
 *              between order statistics, numpy's default)
 *   fractionLower (paired) = share of resamples with stat_s < 0
 *
 * It measures the sampling noise of the test set only, not the noise between training runs (seeds,
 * data order): two runs of one recipe can differ by more than this interval.
 * A resample whose drawn references hold no token has the rate of rate.ts (0 or +-Infinity).
 */
import { Mulberry32 } from '@zipper/common';
import { EvalError } from './errors.js';
import { errorRate } from './rate.js';
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

interface Resampled {
  readonly unit: 'words' | 'chars';
  readonly samples: number;
  readonly seed: number;
  readonly level: number;
  readonly utterances: number;
}

export interface BootstrapInterval extends Resampled {
  /** Systems (decodes) averaged; 1 for one system. */
  readonly systems: number;
  /** The mean of the systems' corpus rates on the utterances as given. */
  readonly rate: number;
  /** The percentile interval of that rate over the resamples. */
  readonly low: number;
  readonly high: number;
}

export interface PairedBootstrap extends Resampled {
  /** Corpus rates of a and b on the utterances as given. */
  readonly a: number;
  readonly b: number;
  /** b - a on the utterances as given. */
  readonly delta: number;
  /** The percentile interval of b - a over the resamples. */
  readonly low: number;
  readonly high: number;
  /** Share of resamples where b's rate is below a's. */
  readonly fractionLower: number;
}

function resolve(options: BootstrapOptions): Required<BootstrapOptions> {
  const { samples = 1000, seed = 0, level = 0.95, unit = 'words' } = options;
  if (!Number.isInteger(samples) || samples < 100) throw new EvalError(`samples must be an integer >= 100, got ${samples}`);
  if (!Number.isInteger(seed) || seed < 0) throw new EvalError(`seed must be a non-negative integer, got ${seed}`);
  if (!(level > 0 && level < 1)) throw new EvalError(`level must be in (0, 1), got ${level}`);
  if (unit !== 'words' && unit !== 'chars') throw new EvalError(`unit must be "words" or "chars", got ${String(unit)}`);
  return { samples, seed, level, unit };
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

/** Reference tokens and errors of each system, per utterance; EvalError unless every system has the same references in the same order. */
function table(systems: readonly (readonly UtteranceScore[])[], unit: 'words' | 'chars', names: readonly string[]) {
  const first = systems[0]!;
  const n = first.length;
  if (n === 0) throw new EvalError('no utterances to resample');
  const tokens = new Float64Array(n);
  const errors = systems.map(() => new Float64Array(n));
  const count = (c: ErrorCounts) => c.sub + c.del + c.ins;
  systems.forEach((s, k) => {
    if (s.length !== n)
      throw new EvalError(`${names[0]} has ${n} utterances but ${names[k]} has ${s.length}; score both against the same references`);
  });
  for (let i = 0; i < n; i++) {
    tokens[i] = first[i]![unit].n;
    systems.forEach((s, k) => {
      if (s[i]!.ref !== first[i]!.ref)
        throw new EvalError(`utterance ${i}: ${names[0]} and ${names[k]} were scored against different references`);
      errors[k]![i] = count(s[i]![unit]);
    });
  }
  return { n, tokens, errors };
}

const total = (xs: Float64Array) => xs.reduce((s, x) => s + x, 0);

/** The rate sum(v) / sum(tokens) over `samples` resamples of the utterances, ascending. */
function resample(v: Float64Array, tokens: Float64Array, samples: number, seed: number): Float64Array {
  const n = v.length;
  const rng = new Mulberry32(seed);
  const out = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    let t = 0;
    let e = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      t += tokens[i]!;
      e += v[i]!;
    }
    out[s] = errorRate(e, t);
  }
  return out.sort();
}

/**
 * The corpus error rate of one system (`[scores]`), or the mean rate of several decodes of one
 * model on the same references (TTS seeds: `[seed0, seed1, ...]`), with its bootstrap percentile
 * interval. Each system is the per-utterance scores of `scoreCorpus(refs, hyps)`. Throws EvalError
 * when there is no system or no utterance, or the systems' references differ.
 */
export function bootstrapInterval(systems: readonly (readonly UtteranceScore[])[], options: BootstrapOptions = {}): BootstrapInterval {
  const { samples, seed, level, unit } = resolve(options);
  if (systems.length === 0) throw new EvalError('no system to resample; give [scores] for one system');
  const { n, tokens, errors } = table(
    systems,
    unit,
    systems.map((_, k) => `system ${k}`),
  );
  const k = systems.length;
  const v = new Float64Array(n);
  for (const e of errors) for (let i = 0; i < n; i++) v[i]! += e[i]! / k;
  const rates = resample(v, tokens, samples, seed);
  return {
    unit,
    samples,
    seed,
    level,
    utterances: n,
    systems: k,
    rate: errorRate(total(v), total(tokens)),
    low: percentile(rates, (1 - level) / 2),
    high: percentile(rates, (1 + level) / 2),
  };
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
  const { n, tokens, errors } = table([a, b], unit, ['a', 'b']);
  const [errA, errB] = errors as [Float64Array, Float64Array];
  const diff = errB.map((e, i) => e - errA[i]!);
  const deltas = resample(diff, tokens, samples, seed);
  const N = total(tokens);
  return {
    unit,
    samples,
    seed,
    level,
    utterances: n,
    a: errorRate(total(errA), N),
    b: errorRate(total(errB), N),
    delta: errorRate(total(diff), N),
    low: percentile(deltas, (1 - level) / 2),
    high: percentile(deltas, (1 + level) / 2),
    fractionLower: deltas.filter((d) => d < 0).length / samples,
  };
}
