/**
 * tools/eval/insertions.mjs: where the inserted words of a transcript fall among the words it got
 * right, which only repeat a neighbour, their runs, pooled over several hypothesis files; bad input
 * exit 2.
 */
import { describe, expect, it } from 'vitest';
import { evalTool } from './eval-tool.js';

const { file, run, refusesBadInput } = evalTool('tools/eval/insertions.mjs');

interface Out {
  utterances: number;
  refWords: number;
  hypWords: number;
  lengthRatio: number;
  ins: number;
  lead: number;
  inner: number;
  tail: number;
  unanchored: number;
  repeat: number;
  runs: number;
  meanRun: number;
  longestRun: number;
  longer: number;
  top: { word: string; count: number }[];
}

describe('tools/eval/insertions.mjs', () => {
  it('places each insertion by the correct words around it, counts repeats and runs, pools files', () => {
    const ref = file('ref.txt', 'a b c d\none two\na\nsame words\n');
    // row 1: x before a (lead), a repeated b between correct words (inner, a repeat), y after d (tail);
    // row 2: no word right (2 substitutions and an insertion: unanchored);
    // row 3: a run of three after the only correct word (tail); row 4: no insertion
    const h1 = file('h1.txt', 'x a b b c d y\np q r\na u v w\nsame words\n');
    const r = run('--ref', ref, '--hyp', h1, '--top', '2');
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim()) as Out;
    expect(o).toMatchObject({ utterances: 4, refWords: 9, hypWords: 16, lengthRatio: 1.778, ins: 7 });
    expect([o.lead, o.inner, o.tail, o.unanchored, o.repeat]).toEqual([1, 1, 4, 1, 1]);
    expect([o.runs, o.meanRun, o.longestRun, o.longer]).toEqual([5, 1.4, 3, 3]);
    expect(o.top).toEqual([
      { word: 'b', count: 1 },
      { word: 'p', count: 1 },
    ]); // ties by the word; row 2's insertion is p: the alignment's tie-break puts surplus words first
    // the same file twice: every count doubles, the ratios stay
    const p = JSON.parse(run('--ref', ref, '--hyp', `${h1},${h1}`).stdout.trim()) as Out;
    expect([p.utterances, p.ins, p.tail, p.runs, p.longestRun, p.meanRun, p.lengthRatio]).toEqual([8, 14, 8, 10, 3, 1.4, 1.778]);
  });

  it('bad input: no --hyp, a bad --top, files of different lengths: exit 2', () => refusesBadInput(['--top', 'x']));
});
