/**
 * Bootstrap over utterances (Koehn 2004; Bisani & Ney 2004): how sure a corpus error rate, or the
 * difference of two systems' rates, is given the finite test set.
 *
 * A system is one decode's per-utterance scores, or several decodes of one model on the same
 * references (TTS seeds) whose mean rate is its statistic: each decode's rate has the same
 * denominator, so the mean rate is sum_i ebar_i / sum_i n_i with ebar_i the mean errors of
 * utterance i over the decodes and n_i its reference tokens. Both statistics are such a ratio:
 *   bootstrapInterval  v_i = ebar_i                      (the system's rate)
 *   pairedBootstrap    v_i = ebar_b,i - ebar_a,i         (rate(b) - rate(a); negative: b is better)
 *   ratioBootstrap     v_i = ebar_b,i, n_i = ebar_a,i    (rate(b) / rate(a): the references' tokens cancel)
 * Resampling utterances also carries the decodes' own noise (a seed's luck on an utterance is part
 * of that utterance's v_i), averaged over the decodes given.
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

/** One decode's per-utterance scores (`scoreCorpus(refs, hyps).perUtterance`), or several decodes' of the same references. */
export type Decodes = readonly UtteranceScore[] | readonly (readonly UtteranceScore[])[];

/** The decodes of a system (one when given one decode's scores). */
function decodesOf(x: Decodes): readonly (readonly UtteranceScore[])[] {
  return x.length > 0 && Array.isArray(x[0]) ? (x as readonly (readonly UtteranceScore[])[]) : [x as readonly UtteranceScore[]];
}

interface Resampled {
  readonly unit: 'words' | 'chars';
  readonly samples: number;
  readonly seed: number;
  readonly level: number;
  readonly utterances: number;
}

export interface BootstrapInterval extends Resampled {
  /** Decodes averaged; 1 for one decode. */
  readonly decodes: number;
  /** The mean of the decodes' corpus rates on the utterances as given. */
  readonly rate: number;
  /** The percentile interval of that rate over the resamples. */
  readonly low: number;
  readonly high: number;
}

export interface RatioBootstrap extends Resampled {
  /** Corpus rates of a and b (each the mean over its decodes) on the utterances as given. */
  readonly a: number;
  readonly b: number;
  /** b / a on the utterances as given (e.g. a model's TTS WER over the oracle's). */
  readonly ratio: number;
  /** The percentile interval of b / a over the resamples. */
  readonly low: number;
  readonly high: number;
}

export interface PairedBootstrap extends Resampled {
  /** Corpus rates of a and b (each the mean over its decodes) on the utterances as given. */
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

/**
 * Reference tokens and mean errors over the decodes, per utterance, of each system; EvalError
 * unless every decode of every system has the same references in the same order.
 */
function table(systems: readonly Decodes[], unit: 'words' | 'chars', names: readonly string[]) {
  const decodes = systems.map(decodesOf);
  const first = decodes[0]![0]!;
  const n = first.length;
  if (n === 0) throw new EvalError('no utterances to resample');
  const tokens = Float64Array.from(first, (u) => u[unit].n);
  const count = (c: ErrorCounts) => c.sub + c.del + c.ins;
  const label = (k: number, j: number) => (decodes[k]!.length > 1 ? `${names[k]}'s decode ${j}` : names[k]!);
  const errors = decodes.map((list, k) => {
    const mean = new Float64Array(n);
    list.forEach((d, j) => {
      if (d.length !== n)
        throw new EvalError(
          `${label(0, 0)} has ${n} utterances but ${label(k, j)} has ${d.length}; score both against the same references`,
        );
      for (let i = 0; i < n; i++) {
        if (d[i]!.ref !== first[i]!.ref)
          throw new EvalError(`utterance ${i}: ${label(0, 0)} and ${label(k, j)} were scored against different references`);
        mean[i]! += count(d[i]![unit]) / list.length;
      }
    });
    return mean;
  });
  return { tokens, errors, decodes: decodes.map((d) => d.length) };
}

const total = (xs: Float64Array) => xs.reduce((s, x) => s + x, 0);

/**
 * The rate sum(v) / sum(tokens) over `samples` resamples of the utterances: the fields every
 * result shares, the percentile interval and the resampled rates (ascending).
 */
function resample(v: Float64Array, tokens: Float64Array, o: Required<BootstrapOptions>) {
  const n = v.length;
  const rng = new Mulberry32(o.seed);
  const rates = new Float64Array(o.samples);
  for (let s = 0; s < o.samples; s++) {
    let t = 0;
    let e = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      t += tokens[i]!;
      e += v[i]!;
    }
    rates[s] = errorRate(e, t);
  }
  rates.sort();
  return {
    shared: { unit: o.unit, samples: o.samples, seed: o.seed, level: o.level, utterances: n },
    low: percentile(rates, (1 - o.level) / 2),
    high: percentile(rates, (1 + o.level) / 2),
    rates,
  };
}

/**
 * The corpus error rate of one decode, or the mean rate of several decodes of one model on the
 * same references (TTS seeds: `[seed0, seed1, ...]`), with its bootstrap percentile interval.
 * Throws EvalError when there is no utterance or the decodes' references differ.
 */
export function bootstrapInterval(system: Decodes, options: BootstrapOptions = {}): BootstrapInterval {
  const o = resolve(options);
  const { tokens, errors, decodes } = table([system], o.unit, ['the system']);
  const v = errors[0]!;
  const r = resample(v, tokens, o);
  return { ...r.shared, decodes: decodes[0]!, rate: errorRate(total(v), total(tokens)), low: r.low, high: r.high };
}

/** Two systems on the same references: tokens, each one's mean errors per utterance, and their corpus rates as given. */
function pair(a: Decodes, b: Decodes, o: Required<BootstrapOptions>) {
  const { tokens, errors } = table([a, b], o.unit, ['a', 'b']);
  const [errA, errB] = errors as [Float64Array, Float64Array];
  const N = total(tokens);
  return { tokens, errA, errB, rates: { a: errorRate(total(errA), N), b: errorRate(total(errB), N) } };
}

/**
 * Paired bootstrap of `b` against `a`: each one decode's per-utterance scores of
 * `scoreCorpus(refs, hyps)`, or several decodes' (their mean rate compared), on the same references
 * in the same order. Throws EvalError when they are not.
 */
export function pairedBootstrap(a: Decodes, b: Decodes, options: BootstrapOptions = {}): PairedBootstrap {
  const o = resolve(options);
  const p = pair(a, b, o);
  const diff = p.errB.map((e, i) => e - p.errA[i]!);
  const r = resample(diff, p.tokens, o);
  return {
    ...r.shared,
    ...p.rates,
    delta: errorRate(total(diff), total(p.tokens)),
    low: r.low,
    high: r.high,
    fractionLower: r.rates.filter((d) => d < 0).length / o.samples,
  };
}

/**
 * Bootstrap of the ratio of `b`'s error rate to `a`'s on the same references (e.g. a model's TTS
 * WER over the oracle's, issue 11's "within 1.5x"): one draw of utterances for both, the ratio of
 * the drawn error sums. Throws EvalError when they are not paired.
 */
export function ratioBootstrap(a: Decodes, b: Decodes, options: BootstrapOptions = {}): RatioBootstrap {
  const o = resolve(options);
  const p = pair(a, b, o);
  const r = resample(p.errB, p.errA, o);
  return { ...r.shared, ...p.rates, ratio: errorRate(total(p.errB), total(p.errA)), low: r.low, high: r.high };
}
