/**
 * bootstrapInterval and pairedBootstrap: exact answers where the bootstrap has no freedom (identical systems, one
 * system better on every utterance), and on a 400-utterance synthetic corpus the spread of the
 * resampled deltas against the delta method's standard error of a paired ratio estimator:
 *   sigma = sqrt(sum_i z_i^2) / N,  z_i = (errB_i - errA_i) - delta * n_i.
 * The two systems' errors are correlated (b = a with some errors fixed and a few added), so an
 * unpaired resampling would spread wider (1.66 times on this corpus): the test asserts over 1.5.
 * For one system's rate (or the mean of several decodes' rates), the delta method's standard error
 * is sqrt(sum_i (v_i - rate * n_i)^2) / N with v_i the utterance's (mean) errors.
 */
import { Mulberry32 } from '@zipper/common';
import { describe, expect, it } from 'vitest';
import { bootstrapInterval, EvalError, pairedBootstrap, ratioBootstrap, scoreCorpus, type UtteranceScore } from '../src/index.js';

const VOCAB = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'home', 'fast', 'red', 'big'];

/** References and two correlated hypothesis sets: a has about 30% word errors, b fixes half of them and adds a few. */
function corpus(n: number, seed: number): { refs: string[]; a: string[]; b: string[] } {
  const rng = new Mulberry32(seed);
  const refs: string[] = [];
  const a: string[] = [];
  const b: string[] = [];
  for (let u = 0; u < n; u++) {
    const len = 3 + rng.int(12);
    const ref = Array.from({ length: len }, () => VOCAB[rng.int(VOCAB.length)]!);
    const hard = rng.next() < 0.5 ? 0.5 : 0.1; // utterances differ in difficulty, for both systems
    const ha: string[] = [];
    const hb: string[] = [];
    for (const w of ref) {
      const wrongA = rng.next() < hard;
      const wrongB = wrongA ? rng.next() < 0.5 : rng.next() < 0.05;
      if (wrongA) ha.push('zzz');
      else ha.push(w);
      if (wrongB) hb.push('qqq');
      else hb.push(w);
    }
    refs.push(ref.join(' '));
    a.push(ha.join(' '));
    b.push(hb.join(' '));
  }
  return { refs, a, b };
}

function deltaMethodSigma(a: readonly UtteranceScore[], b: readonly UtteranceScore[]): { delta: number; sigma: number; unpaired: number } {
  const e = (u: UtteranceScore) => u.words.sub + u.words.del + u.words.ins;
  const N = a.reduce((s, u) => s + u.words.n, 0);
  const rateA = a.reduce((s, u) => s + e(u), 0) / N;
  const rateB = b.reduce((s, u) => s + e(u), 0) / N;
  const delta = rateB - rateA;
  let z2 = 0;
  let za2 = 0;
  let zb2 = 0;
  a.forEach((ua, i) => {
    const ub = b[i]!;
    z2 += (e(ub) - e(ua) - delta * ua.words.n) ** 2;
    za2 += (e(ua) - rateA * ua.words.n) ** 2;
    zb2 += (e(ub) - rateB * ub.words.n) ** 2;
  });
  return { delta, sigma: Math.sqrt(z2) / N, unpaired: Math.sqrt(za2 + zb2) / N };
}

describe('pairedBootstrap', () => {
  const { refs, a, b } = corpus(400, 7);
  const sa = scoreCorpus(refs, a);
  const sb = scoreCorpus(refs, b);

  it('reports the corpus rates of both systems and their difference', () => {
    const r = pairedBootstrap(sa.perUtterance, sb.perUtterance);
    expect([r.a, r.b, r.utterances, r.samples, r.seed, r.level, r.unit]).toEqual([sa.wer, sb.wer, 400, 1000, 0, 0.95, 'words']);
    expect(r.delta).toBeCloseTo(sb.wer - sa.wer, 12);
    const c = pairedBootstrap(sa.perUtterance, sb.perUtterance, { unit: 'chars' });
    expect([c.a, c.b]).toEqual([sa.cer, sb.cer]);
  });

  it('the interval width matches the delta method for a paired ratio (within 8%), far narrower than unpaired', () => {
    const r = pairedBootstrap(sa.perUtterance, sb.perUtterance, { samples: 4000, seed: 3 });
    const dm = deltaMethodSigma(sa.perUtterance, sb.perUtterance);
    const sigma = (r.high - r.low) / (2 * 1.959964);
    expect(dm.delta).toBeLessThan(-0.08); // b fixed about half of a's errors
    expect(Math.abs(sigma / dm.sigma - 1)).toBeLessThan(0.08);
    expect(dm.unpaired / dm.sigma).toBeGreaterThan(1.5); // what pairing buys on this corpus
    expect(r.low).toBeLessThan(r.delta);
    expect(r.high).toBeGreaterThan(r.delta);
    expect(r.fractionLower).toBe(1); // delta is many sigmas below 0
  });

  it('is deterministic per seed; another seed moves the interval, not the point difference', () => {
    const r1 = pairedBootstrap(sa.perUtterance, sb.perUtterance, { seed: 5 });
    const r2 = pairedBootstrap(sa.perUtterance, sb.perUtterance, { seed: 5 });
    const r3 = pairedBootstrap(sa.perUtterance, sb.perUtterance, { seed: 6 });
    expect(r2).toEqual(r1);
    expect(r3.delta).toBe(r1.delta);
    expect(r3.low).not.toBe(r1.low);
  });

  it('identical systems: delta 0, interval [0, 0], b never lower; a system better everywhere: always lower', () => {
    const same = pairedBootstrap(sa.perUtterance, sa.perUtterance);
    expect([same.delta, same.low, same.high, same.fractionLower]).toEqual([0, 0, 0, 0]);
    const perfect = scoreCorpus(refs, refs).perUtterance;
    const worse = scoreCorpus(
      refs,
      refs.map((r) => `${r} extra`),
    ).perUtterance; // one insertion per utterance
    const r = pairedBootstrap(worse, perfect);
    expect(r.b).toBe(0);
    expect(r.high).toBeLessThan(0);
    expect(r.fractionLower).toBe(1);
  });

  it('refuses unpaired inputs and bad options with EvalError', () => {
    expect(() => pairedBootstrap(sa.perUtterance, sb.perUtterance.slice(1))).toThrow(EvalError);
    const shifted = scoreCorpus(refs.slice(1), b.slice(1)).perUtterance;
    expect(() => pairedBootstrap(sa.perUtterance.slice(0, -1), shifted)).toThrow(/different references/);
    expect(() => pairedBootstrap([], [])).toThrow(EvalError);
    expect(() => pairedBootstrap(sa.perUtterance, sb.perUtterance, { samples: 10 })).toThrow(/samples/);
    expect(() => pairedBootstrap(sa.perUtterance, sb.perUtterance, { level: 1 })).toThrow(/level/);
    expect(() => pairedBootstrap(sa.perUtterance, sb.perUtterance, { seed: -1 })).toThrow(/seed/);
  });
});

/** The delta method's standard error of sum(v) / sum(n), v_i the mean errors of utterance i over the systems. */
function ratioSigma(systems: readonly (readonly UtteranceScore[])[]): { rate: number; sigma: number } {
  const e = (u: UtteranceScore) => u.words.sub + u.words.del + u.words.ins;
  const first = systems[0]!;
  const v = first.map((_, i) => systems.reduce((s, sys) => s + e(sys[i]!), 0) / systems.length);
  const N = first.reduce((s, u) => s + u.words.n, 0);
  const rate = v.reduce((s, x) => s + x, 0) / N;
  const z2 = v.reduce((s, x, i) => s + (x - rate * first[i]!.words.n) ** 2, 0);
  return { rate, sigma: Math.sqrt(z2) / N };
}

describe('bootstrapInterval', () => {
  const { refs, a, b } = corpus(400, 7);
  const sa = scoreCorpus(refs, a);
  const sb = scoreCorpus(refs, b);

  it("one system: the corpus rate exactly, and an interval as wide as the delta method's (within 8%)", () => {
    const r = bootstrapInterval([sa.perUtterance], { samples: 4000, seed: 3 });
    expect([r.rate, r.utterances, r.decodes, r.samples, r.seed, r.level, r.unit]).toEqual([sa.wer, 400, 1, 4000, 3, 0.95, 'words']);
    const dm = ratioSigma([sa.perUtterance]);
    expect(Math.abs((r.high - r.low) / (2 * 1.959964) / dm.sigma - 1)).toBeLessThan(0.08);
    expect(r.low).toBeLessThan(r.rate);
    expect(r.high).toBeGreaterThan(r.rate);
    expect(bootstrapInterval([sa.perUtterance], { unit: 'chars' }).rate).toBe(sa.cer);
  });

  it("several decodes: the mean of their rates, resampled with one draw for all (the delta method's width within 8%)", () => {
    const r = bootstrapInterval([sa.perUtterance, sb.perUtterance], { samples: 4000, seed: 3 });
    expect(r.decodes).toBe(2);
    expect(r.rate).toBeCloseTo((sa.wer + sb.wer) / 2, 12);
    const dm = ratioSigma([sa.perUtterance, sb.perUtterance]);
    expect(Math.abs((r.high - r.low) / (2 * 1.959964) / dm.sigma - 1)).toBeLessThan(0.08);
    // The systems' errors share the utterances' difficulty, so the mean's interval is not the
    // narrower one of two independent draws would give: it lies between the two systems' widths.
    const wa = bootstrapInterval([sa.perUtterance], { samples: 4000, seed: 3 });
    const wb = bootstrapInterval([sb.perUtterance], { samples: 4000, seed: 3 });
    const width = (x: { low: number; high: number }) => x.high - x.low;
    expect(width(r)).toBeGreaterThan(Math.min(width(wa), width(wb)));
    expect(width(r)).toBeLessThan(Math.max(width(wa), width(wb)));
  });

  it('one decode given bare or in a list is the same system; a paired bootstrap compares mean rates of decodes', () => {
    expect(bootstrapInterval(sa.perUtterance)).toEqual(bootstrapInterval([sa.perUtterance]));
    // [a, b] against [b, b]: the means differ by half of b - a on every utterance
    const half = pairedBootstrap([sa.perUtterance, sb.perUtterance], [sb.perUtterance, sb.perUtterance]);
    const full = pairedBootstrap(sa.perUtterance, sb.perUtterance);
    expect(half.delta).toBeCloseTo(full.delta / 2, 12);
    expect(half.low).toBeCloseTo(full.low / 2, 12); // the same draws (seed 0), every resampled delta halved
    expect(half.high).toBeCloseTo(full.high / 2, 12);
    expect(half.a).toBeCloseTo((sa.wer + sb.wer) / 2, 12);
  });

  it('a perfect system: rate 0, interval [0, 0]; deterministic per seed', () => {
    const perfect = scoreCorpus(refs, refs).perUtterance;
    const r = bootstrapInterval([perfect]);
    expect([r.rate, r.low, r.high]).toEqual([0, 0, 0]);
    expect(bootstrapInterval([sa.perUtterance], { seed: 5 })).toEqual(bootstrapInterval([sa.perUtterance], { seed: 5 }));
    expect(bootstrapInterval([sa.perUtterance], { seed: 6 }).low).not.toBe(bootstrapInterval([sa.perUtterance], { seed: 5 }).low);
  });

  it('refuses no utterance, unequal decodes and bad options with EvalError', () => {
    expect(() => bootstrapInterval([])).toThrow(/no utterances/);
    expect(() => bootstrapInterval([[]])).toThrow(/no utterances/);
    expect(() => bootstrapInterval([sa.perUtterance, sb.perUtterance.slice(1)])).toThrow(/system's decode 1 has 399/);
    const shifted = scoreCorpus(refs.slice(1), b.slice(1)).perUtterance;
    expect(() => bootstrapInterval([sa.perUtterance.slice(0, -1), shifted])).toThrow(/different references/);
    expect(() => bootstrapInterval([sa.perUtterance], { samples: 99 })).toThrow(EvalError);
  });
});

describe('ratioBootstrap', () => {
  const { refs, a, b } = corpus(400, 7);
  const sa = scoreCorpus(refs, a);
  const sb = scoreCorpus(refs, b);

  it("b's rate over a's: the ratio of the corpus rates, and an interval as wide as the delta method's for a ratio of sums (within 8%)", () => {
    const r = ratioBootstrap(sa.perUtterance, sb.perUtterance, { samples: 4000, seed: 3 });
    expect([r.a, r.b]).toEqual([sa.wer, sb.wer]);
    expect(r.ratio).toBeCloseTo(sb.wer / sa.wer, 12);
    // R = sum eb / sum ea; sigma = sqrt(sum_i (eb_i - R ea_i)^2) / sum ea
    const e = (u: UtteranceScore) => u.words.sub + u.words.del + u.words.ins;
    const ea = sa.perUtterance.map(e);
    const eb = sb.perUtterance.map(e);
    const sumA = ea.reduce((x, y) => x + y, 0);
    const sigma = Math.sqrt(eb.reduce((x, y, i) => x + (y - r.ratio * ea[i]!) ** 2, 0)) / sumA;
    expect(Math.abs((r.high - r.low) / (2 * 1.959964) / sigma - 1)).toBeLessThan(0.08);
    expect(r.low).toBeLessThan(r.ratio);
    expect(r.high).toBeGreaterThan(r.ratio);
    expect(r.high).toBeLessThan(1); // b fixed about half of a's errors
  });

  it('a system against itself: ratio 1, interval [1, 1]; several decodes compare their mean rates; unpaired inputs are refused', () => {
    const same = ratioBootstrap(sa.perUtterance, sa.perUtterance);
    expect([same.ratio, same.low, same.high]).toEqual([1, 1, 1]);
    const two = ratioBootstrap(sa.perUtterance, [sb.perUtterance, sa.perUtterance]);
    expect(two.ratio).toBeCloseTo((sb.wer + sa.wer) / 2 / sa.wer, 12);
    expect(() => ratioBootstrap(sa.perUtterance, sb.perUtterance.slice(1))).toThrow(EvalError);
  });
});
