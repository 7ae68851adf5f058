/**
 * tools/eval/word-position.mjs: the share of reference words right by where they sit, from
 * @zipper/eval's sclite alignment, pooled over several hypothesis files; bad input exit 2.
 */
import { describe, expect, it } from 'vitest';
import { evalTool } from './eval-tool.js';

const { file, run, refusesBadInput } = evalTool('tools/eval/word-position.mjs');

describe('tools/eval/word-position.mjs', () => {
  it('right words by fifth: a transcript that starts on its text and loses it, one with insertions, pooled over two files', () => {
    const ref = file('ref.txt', 'a b c d e\none two three four five six seven eight nine ten\n');
    // row 1: a b right, then wrong; row 2: every word right (an inserted word counts for no position)
    const h1 = file('h1.txt', 'a b x y z\none two three four five six seven eight nine extra ten\n');
    const r = run('--ref', ref, '--hyp', h1);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { words: number[]; right: number[]; all: number };
    expect(out.words).toEqual([3, 3, 3, 3, 3]);
    expect(out.right).toEqual([1, 1, 0.667, 0.667, 0.667]); // row 1's words 0..4 fall in bins 0..4, row 2's two a bin
    expect(out.all).toBe(0.8);
    // a second file of the same utterances, all wrong: pooled, every bin's words double
    const h2 = file('h2.txt', 'q q q q q\nq\n');
    const p = JSON.parse(run('--ref', ref, '--hyp', `${h1},${h2}`, '--bins', '2').stdout.trim()) as { words: number[]; right: number[] };
    expect(p.words).toEqual([14, 16]); // row 1: words 0, 1 in bin 0 and 2..4 in bin 1; row 2: five each
    expect(p.right).toEqual([0.5, 0.313]);
  });

  it('bad input: no --hyp, a bad --bins, files of different lengths: exit 2', () => refusesBadInput(['--bins', '0']));
});
