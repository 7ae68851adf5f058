/**
 * The report's check of the paper's claims (report-paper.ts) on made-up run summaries: each run
 * lands in the grid's model it is, the verdicts follow the numbers (relative TTS gain, ASR ratio,
 * the 1% thresholds, unfreezing), runs of one group average, and missing runs are named.
 */
import { scoreCorpus } from '@zipper/eval';
import { describe, expect, it } from 'vitest';
import { paperModelOf, renderPaperChecks, type DecodesOf } from '../src/eval/report-paper.js';
import type { RunSummary, SavedDecodes } from '../src/eval/report-runs.js';

type Model = { freeze?: string[]; ctcWeight?: number; crossRope?: { to: string; from: string; rate: number }[] };

function summary(
  name: string,
  kind: 'fuse' | 'baseline',
  percent: number,
  wers: { asr?: number; lexicon?: number; tts?: number; ttsSeeds?: [number, number] },
  model: Model = {},
  testClean?: { asr?: SavedDecodes; tts?: SavedDecodes },
): RunSummary {
  const m = (wer: number | undefined, more = {}) => (wer === undefined ? {} : { 'test-clean': { wer, ...more } });
  return {
    name,
    dir: `/nonexistent/${name}`, // no saved transcripts: the checks fall back to the seeds' spread
    run: { kind, model, recipe: { steps: 3000 }, tasks: ['asr', 'tts'], asrAudio: 'asr', data: { percent } },
    asr: m(wers.asr),
    asrLexicon: m(wers.lexicon),
    tts: m(wers.tts, wers.ttsSeeds ? { werMin: wers.ttsSeeds[0], werMax: wers.ttsSeeds[1] } : {}),
    ...(testClean ? { testClean } : {}),
  } as unknown as RunSummary;
}

/** The made-up runs' transcripts (in place of testCleanDecodes reading them from RUN/eval/test-clean). */
const madeUp: DecodesOf = (r, task) => (r as RunSummary & { testClean?: { asr?: SavedDecodes; tts?: SavedDecodes } }).testClean?.[task];

const frozen = { freeze: ['speech', 'text'] };
const unfrozen = { freeze: ['text'] };
const ours = {
  freeze: ['text'],
  ctcWeight: 0.3,
  crossRope: [
    { to: 'text', from: 'speech', rate: 10.7 },
    { to: 'speech', from: 'text', rate: 1 / 10.7 },
  ],
};

describe("the paper's claims checked", () => {
  it('groups runs as the grid does', () => {
    expect(paperModelOf(summary('a', 'baseline', 1, {}))).toBe('single');
    expect(paperModelOf(summary('b', 'fuse', 1, {}, frozen))).toBe('zipper-frozen');
    expect(paperModelOf(summary('c', 'fuse', 1, {}, unfrozen))).toBe('zipper-unfrozen');
    expect(paperModelOf(summary('d', 'fuse', 1, {}, ours))).toBe('zipper-ours');
    expect(paperModelOf(summary('e', 'fuse', 1, {}, { freeze: [] }))).toBeUndefined(); // text trained: not a grid model
    expect(paperModelOf(summary('f', 'fuse', 1, {}, { freeze: ['speech'] }))).toBeUndefined();
  });

  it('verdicts follow the numbers; groups average; missing runs are named', () => {
    const lines = renderPaperChecks([
      summary('single-1', 'baseline', 1, { asr: 0.95, tts: 1.0 }),
      summary('frozen-1', 'fuse', 1, { asr: 0.4, tts: 0.6 }, frozen),
      summary('unfrozen-1', 'fuse', 1, { asr: 0.6, tts: 0.5 }, unfrozen),
      summary('ours-1a', 'fuse', 1, { asr: 0.2, lexicon: 0.1, tts: 1.2 }, ours),
      summary('ours-1b', 'fuse', 1, { asr: 0.4, lexicon: 0.3, tts: 1.4 }, ours), // averaged with ours-1a: 0.3, 0.2, 1.3
      summary('single-100', 'baseline', 100, { asr: 0.2 }),
      summary('frozen-100', 'fuse', 100, { asr: 0.21, tts: 0.9, ttsSeeds: [0.85, 0.95] }, frozen),
      summary('unfrozen-100', 'fuse', 100, { tts: 0.92, ttsSeeds: [0.94, 0.99] }, unfrozen),
      summary('ours-100', 'fuse', 100, { asr: 0.1 }, ours),
    ]);
    const table = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| the paper') && !l.startsWith('| ---'));
    expect(table).toEqual([
      '| TTS: Zipper about 40% relatively lower WER than the single decoder | 1% | Zipper, speech frozen 0.600 vs 1.000 | lower by 40% |',
      '| TTS: Zipper about 40% relatively lower WER than the single decoder | 1% | Zipper, speech trained 0.500 vs 1.000 | lower by 50% |',
      "| TTS: Zipper about 40% relatively lower WER than the single decoder | 1% | Zipper, this project's recipe 1.300 vs 1.000 (all at or above 1: babble) | not lower (30% higher) |",
      "| TTS: Zipper about 40% relatively lower WER than the single decoder | 100% | missing: the single decoder's TTS at 100% |  |",
      '| ASR: about equal with all the data | 100% | Zipper, speech frozen 0.210 vs 0.200 | about equal |',
      "| ASR: about equal with all the data | 100% | Zipper, this project's recipe 0.100 vs 0.200 | Zipper lower (x0.50) |",
      '| ASR with 1%: Zipper usable, the single decoder near 100% WER | 1% | Zipper, speech frozen 0.400 | usable |',
      '| ASR with 1%: Zipper usable, the single decoder near 100% WER | 1% | Zipper, speech trained 0.600 | not usable |',
      "| ASR with 1%: Zipper usable, the single decoder near 100% WER | 1% | Zipper, this project's recipe 0.300 (its CTC head + word LM 0.200) | usable |",
      '| ASR with 1%: Zipper usable, the single decoder near 100% WER | 1% | single decoder 0.950 | near 100% |',
      '| TTS: training the speech tower helps | 1% | trained 0.500 vs frozen 0.600 | helps (17% lower) |',
      "| TTS: training the speech tower helps | 100% | trained 0.920 vs frozen 0.900; the seeds' WERs overlap, 0.940-0.990 vs 0.850-0.950 | not told apart by the seeds |",
    ]);
    expect(lines[0]).toBe('## What the paper leads us to expect');
  });

  it('nothing to check: no section; only zipped runs: the single decoder is named as missing', () => {
    expect(renderPaperChecks([summary('e', 'fuse', 1, { asr: 0.5 }, { freeze: [] })])).toEqual([]);
    const lines = renderPaperChecks([summary('ours-100', 'fuse', 100, { asr: 0.9, tts: 1.2 }, ours)]);
    expect(lines).toContain(
      "| TTS: Zipper about 40% relatively lower WER than the single decoder | 100% | missing: the single decoder's TTS at 100% |  |",
    );
    expect(lines).toContain('| ASR: about equal with all the data | 100% | missing: the single decoder |  |');
    const both = renderPaperChecks([
      summary('ours-100', 'fuse', 100, { asr: 0.95 }, ours),
      summary('single-100', 'baseline', 100, { asr: 1.0 }),
    ]);
    expect(both).toContain(
      "| ASR: about equal with all the data | 100% | Zipper, this project's recipe 0.950 vs 1.000 | about equal, but neither transcribes (both near 100%) |",
    );
    expect(lines).toContain('| ASR with 1%: Zipper usable, the single decoder near 100% WER | 1% | missing: the 1% runs |  |');
  });

  it('with the transcripts kept, a comparison carries the paired bootstrap of its difference and its verdict follows the interval', () => {
    // 60 utterances of 5 words; a decode makes errs(i) substitutions in utterance i
    const refs = Array.from({ length: 60 }, (_, i) => `w${i} a b c d`);
    const dec = (errs: (i: number) => number) =>
      scoreCorpus(
        refs,
        refs.map((r, i) =>
          r
            .split(' ')
            .map((w, j) => (j < errs(i) ? 'x' : w))
            .join(' '),
        ),
      ).perUtterance;
    const lines = renderPaperChecks(
      [
        // TTS, two seeds each: single 2 errors everywhere (0.4); frozen 1 everywhere (0.2); trained 1 or 3 (0.4, noisy)
        summary('single-10', 'baseline', 10, { tts: 0.4 }, {}, { tts: [dec(() => 2), dec(() => 2)] }),
        summary('frozen-10', 'fuse', 10, { tts: 0.2 }, frozen, { tts: [dec(() => 1), dec(() => 1)] }),
        summary('unfrozen-10', 'fuse', 10, { tts: 0.4 }, unfrozen, {
          tts: [dec((i) => (i % 2 ? 3 : 1)), dec((i) => (i % 2 ? 3 : 1))],
        }),
        // ASR at 100%: single 0.1 (5 errors in every 10th utterance); frozen 0.04 (2 errors in the same ones);
        // trained 0.2 on 12 other utterances: twice the single decoder's, but on 60 utterances not told apart
        summary('single-100', 'baseline', 100, { asr: 0.1 }, {}, { asr: [dec((i) => (i % 10 === 0 ? 5 : 0))] }),
        summary('frozen-100', 'fuse', 100, { asr: 0.04 }, frozen, { asr: [dec((i) => (i % 10 === 0 ? 2 : 0))] }),
        summary('unfrozen-100', 'fuse', 100, { asr: 0.2 }, unfrozen, { asr: [dec((i) => (i % 10 === 1 || i % 10 === 2 ? 5 : 0))] }),
      ],
      madeUp,
    );
    const table = lines.filter((l) => l.startsWith('| ') && !l.startsWith('| the paper') && !l.startsWith('| ---'));
    const rowOf = (claim: string, what: string) => table.find((l) => l.startsWith(`| ${claim}`) && l.includes(what));
    const tts = 'TTS: Zipper about 40% relatively lower WER than the single decoder | 10%';
    expect(rowOf(tts, 'speech frozen')).toBe(
      `| ${tts} | Zipper, speech frozen 0.200 vs 0.400; difference -0.200 (95% interval -0.200 to -0.200) | lower by 50% |`,
    );
    expect(rowOf(tts, 'speech trained')).toMatch(
      /Zipper, speech trained 0\.400 vs 0\.400; difference \+0\.000 \(95% interval -0\.\d{3} to \+0\.\d{3}\) \| not told apart \(the interval holds 0\) \|$/,
    );
    expect(rowOf('TTS: training the speech tower helps', '10%')).toMatch(
      /trained 0\.400 vs frozen 0\.200; difference \+0\.200 \(95% interval \+0\.\d{3} to \+0\.\d{3}\) \| does not help \(100% higher\) \|$/,
    );
    expect(rowOf('ASR: about equal', 'speech frozen')).toMatch(
      /speech frozen 0\.040 vs 0\.100; difference -0\.060 \(95% interval -0\.\d{3} to -0\.\d{3}\) \| Zipper lower \(x0\.40\) \|$/,
    );
    expect(rowOf('ASR: about equal', 'speech trained')).toMatch(
      /speech trained 0\.200 vs 0\.100; difference \+0\.100 \(95% interval -0\.\d{3} to \+0\.\d{3}\) \| not told apart \(the interval holds 0\) \|$/,
    );
  });
});
