// `zipper wer`: scores two files line by line; --json's last line holds the counts.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/command.js';
import { wer } from '../src/commands/wer.js';

let tmp = '';
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'zipper-wer-cli-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (x: unknown) => void lines.push(String(x));
  try {
    return { code: await wer.run(argv), lines };
  } finally {
    console.log = log;
  }
}

describe('zipper wer', () => {
  it('prints the corpus counts as JSON on its last line', async () => {
    const ref = path.join(tmp, 'ref.txt');
    const hyp = path.join(tmp, 'hyp.txt');
    await fs.writeFile(ref, 'a b c d\nthe cat sat\n\n');
    await fs.writeFile(hyp, 'a x c\nThe cat sat on\nextra\n');
    const { code, lines } = await run(['--ref', ref, '--hyp', hyp, '--json']);
    expect(code).toBe(0);
    const last = JSON.parse(lines.at(-1)!) as Record<string, number>;
    // a b c d / a x c: 1 sub 1 del; the cat sat / the cat sat on: 1 ins; "" / extra: 1 ins
    expect(last).toEqual({ wer: 4 / 7, cer: last.cer, words: 7, sub: 1, del: 1, ins: 2 });
    // characters: abcd/axc (1 sub, 1 del), thecatsat/thecatsaton (2 ins), ""/extra (5 ins) over 13
    expect(last.cer).toBeCloseTo(9 / 13, 12);
  });

  it('refuses files of different line counts and invalid UTF-8 with usage errors', async () => {
    const ref = path.join(tmp, 'r2.txt');
    const hyp = path.join(tmp, 'h2.txt');
    await fs.writeFile(ref, 'one\ntwo\n');
    await fs.writeFile(hyp, 'one\n');
    await expect(run(['--ref', ref, '--hyp', hyp])).rejects.toThrow(/2 lines but --hyp has 1/);
    await fs.writeFile(hyp, Buffer.from([0x61, 0xff, 0x0a, 0x62, 0x0a]));
    await expect(run(['--ref', ref, '--hyp', hyp])).rejects.toThrow(UsageError);
    await expect(run(['--ref', ref])).rejects.toThrow(/--ref and --hyp are required/);
  });

  it('--baseline adds a paired bootstrap of HYP minus BASE, WER and CER, on the JSON line', async () => {
    // 40 utterances "a b c d e": the baseline misses "e" in all of them, the hypothesis in 10.
    const n = 40;
    const ref = path.join(tmp, 'r3.txt');
    const hyp = path.join(tmp, 'h3.txt');
    const base = path.join(tmp, 'b3.txt');
    await fs.writeFile(ref, 'a b c d e\n'.repeat(n));
    await fs.writeFile(base, 'a b c d\n'.repeat(n));
    await fs.writeFile(hyp, 'a b c d\n'.repeat(10) + 'a b c d e\n'.repeat(n - 10));
    const { code, lines } = await run(['--ref', ref, '--hyp', hyp, '--baseline', base, '--samples', '500', '--seed', '1', '--json']);
    expect(code).toBe(0);
    const last = JSON.parse(lines.at(-1)!) as {
      wer: number;
      baseline: { wer: number; del: number };
      bootstrap: { wer: { delta: number; low: number; high: number; fractionLower: number }; samples: number; seed: number; level: number };
    };
    expect([last.wer, last.baseline.wer, last.baseline.del]).toEqual([10 / 200, 40 / 200, 40]);
    expect(last.bootstrap.wer.delta).toBeCloseTo(-30 / 200, 12);
    // Every resample: a share p of fixed utterances, delta = -p / 5 with p in [0, 1]; p = 0 needs
    // all 40 draws from the 10 unfixed ones (0.25^40), so hyp is lower in every resample.
    expect(last.bootstrap.wer.fractionLower).toBe(1);
    expect(last.bootstrap.wer.low).toBeLessThan(last.bootstrap.wer.delta);
    expect(last.bootstrap.wer.high).toBeGreaterThan(last.bootstrap.wer.delta);
    expect(last.bootstrap.wer.high).toBeLessThan(0);
    expect([last.bootstrap.samples, last.bootstrap.seed, last.bootstrap.level]).toEqual([500, 1, 0.95]);
    const text = await run(['--ref', ref, '--hyp', hyp, '--baseline', base]);
    expect(text.lines.join('\n')).toMatch(
      /WER -15\.00% against the baseline's 20\.00%; 95% interval -\d+\.\d+% to -\d+\.\d+%; lower in 100\.0% of resamples/,
    );
  });

  it('--interval adds the bootstrap interval of HYP itself, WER and CER, on the JSON line and in the text', async () => {
    // 40 utterances "a b c d e", the hypothesis misses "e" in 10: a resample's WER is m / 200 with
    // m ~ Binomial(40, 1/4), so the 95% interval is about (10 -+ 1.96 * sqrt(7.5)) / 200 = 0.023 to 0.077.
    const n = 40;
    const ref = path.join(tmp, 'r5.txt');
    const hyp = path.join(tmp, 'h5.txt');
    await fs.writeFile(ref, 'a b c d e\n'.repeat(n));
    await fs.writeFile(hyp, 'a b c d\n'.repeat(10) + 'a b c d e\n'.repeat(n - 10));
    const { code, lines } = await run(['--ref', ref, '--hyp', hyp, '--interval', '--samples', '2000', '--json']);
    expect(code).toBe(0);
    const last = JSON.parse(lines.at(-1)!) as {
      wer: number;
      interval: { wer: { low: number; high: number }; cer: { low: number; high: number }; samples: number; seed: number; level: number };
    };
    expect(last.wer).toBe(10 / 200);
    expect(last.interval.wer.low).toBeGreaterThan(0.015);
    expect(last.interval.wer.low).toBeLessThan(0.03);
    expect(last.interval.wer.high).toBeGreaterThan(0.07);
    expect(last.interval.wer.high).toBeLessThan(0.085);
    expect(last.interval.cer.low).toBeCloseTo(last.interval.wer.low, 12); // one character per missing word, 5 per utterance
    expect([last.interval.samples, last.interval.seed, last.interval.level]).toEqual([2000, 0, 0.95]);
    const text = await run(['--ref', ref, '--hyp', hyp, '--interval']);
    expect(text.lines.join('\n')).toMatch(/95% interval WER \d\.\d\d% to \d\.\d\d%, CER \d\.\d\d% to \d\.\d\d%/);
  });

  it('several --hyp and --baseline files are decodes of one system: the means over them, and one bootstrap over utterances for all', async () => {
    // 40 utterances "a b c d e"; system A's two decodes miss "e" in 10 and in 30 utterances (mean
    // 20 of 200 words), system B's in all 40 and in none (mean 20 too): the paired difference is 0
    // in every resample that draws the same utterances for both decodes of a system.
    const n = 40;
    const ref = path.join(tmp, 'r6.txt');
    const file = async (name: string, missing: number) => {
      const f = path.join(tmp, name);
      await fs.writeFile(f, 'a b c d\n'.repeat(missing) + 'a b c d e\n'.repeat(n - missing));
      return f;
    };
    await fs.writeFile(ref, 'a b c d e\n'.repeat(n));
    const [a1, a2, b1, b2] = [await file('a1.txt', 10), await file('a2.txt', 30), await file('b1.txt', n), await file('b2.txt', 0)];
    const { code, lines } = await run(['--ref', ref, '--hyp', a1, '--hyp', a2, '--baseline', b1, '--baseline', b2, '--interval', '--json']);
    expect(code).toBe(0);
    const last = JSON.parse(lines.at(-1)!) as {
      wer: number;
      words: number;
      sub: number;
      del: number;
      ins: number;
      hyps: { file: string; wer: number; del: number }[];
      baseline: { wer: number; del: number; hyps: { file: string; wer: number }[] };
      interval: { wer: { low: number; high: number } };
      bootstrap: { wer: { delta: number; low: number; high: number } };
    };
    expect([last.wer, last.words, last.del, (last.sub + last.del + last.ins) / last.words]).toEqual([20 / 200, 200, 20, 20 / 200]);
    expect(last.hyps).toEqual([
      { file: a1, wer: 10 / 200, cer: 10 / 200, sub: 0, del: 10, ins: 0 },
      { file: a2, wer: 30 / 200, cer: 30 / 200, sub: 0, del: 30, ins: 0 },
    ]);
    expect([last.baseline.wer, last.baseline.del, last.baseline.hyps.map((h) => h.wer)]).toEqual([20 / 200, 20, [40 / 200, 0]]);
    // the mean of the two decodes over resampled utterances: (m1 + m2) / 400 with m1 ~ Bin(40, 1/4) and m2 ~ Bin(40, 3/4)
    // drawn together, not a fixed 0.1 (one file's interval would be wider or narrower, never a point)
    expect(last.interval.wer.low).toBeLessThan(0.1);
    expect(last.interval.wer.high).toBeGreaterThan(0.1);
    // B's decodes miss "e" in every utterance together (1 + 0 of 2 decodes): each resample's B mean is
    // exactly 0.1; A's is the drawn share, so the difference is A's interval less 0.1
    expect(last.bootstrap.wer.delta).toBeCloseTo(0, 12);
    expect(last.bootstrap.wer.low).toBeCloseTo(last.interval.wer.low - 0.1, 12);
    expect(last.bootstrap.wer.high).toBeCloseTo(last.interval.wer.high - 0.1, 12);
    const text = await run(['--ref', ref, '--hyp', a1, '--hyp', a2]);
    expect(text.lines.join('\n')).toContain('WER 10.00% (sub 0, del 20, ins 0, mean over 2 files)');
    const short = await file('a3.txt', 0);
    await fs.writeFile(short, 'a b c d e\n');
    await expect(run(['--ref', ref, '--hyp', a1, '--hyp', short])).rejects.toThrow(/--ref has 40 lines but --hyp has 1 \(.*a3\.txt\)/);
  });

  it('refuses bootstrap options without --interval or --baseline, a bad level, too few samples, a baseline of another length', async () => {
    const ref = path.join(tmp, 'r4.txt');
    const hyp = path.join(tmp, 'h4.txt');
    await fs.writeFile(ref, 'one\ntwo\n');
    await fs.writeFile(hyp, 'one\ntwo\n');
    await expect(run(['--ref', ref, '--hyp', hyp, '--samples', '500'])).rejects.toThrow(/give --interval or --baseline/);
    await expect(run(['--ref', ref, '--hyp', hyp, '--baseline', hyp, '--level', '95'])).rejects.toThrow(/--level must be between 0 and 1/);
    await expect(run(['--ref', ref, '--hyp', hyp, '--baseline', hyp, '--samples', '10'])).rejects.toThrow(
      /--samples must be an integer >= 100/,
    );
    const short = path.join(tmp, 'b4.txt');
    await fs.writeFile(short, 'one\n');
    await expect(run(['--ref', ref, '--hyp', hyp, '--baseline', short])).rejects.toThrow(/--ref has 2 lines but --baseline has 1/);
  });
});
