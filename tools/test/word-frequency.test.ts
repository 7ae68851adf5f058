/**
 * tools/eval/word-frequency.mjs: the reference words a transcript says, bucketed by their count in a
 * training text (a manifest's `text` fields or a plain file), among all and among the target's words,
 * pooled over several hypothesis files; bad input exit 2.
 */
import { describe, expect, it } from 'vitest';
import { evalTool } from './eval-tool.js';

const { file, run, refusesBadInput } = evalTool('tools/eval/word-frequency.mjs');

interface Bucket {
  from: number;
  to: number | null;
  words: number;
  said: number;
  saidShare: number | null;
  inTarget?: number;
  saidOfTarget?: number;
  saidOfTargetShare?: number | null;
}
interface Out {
  utterances: number;
  trainWords: number;
  buckets: Bucket[];
}
const out = (r: { status: number | null; stdout: string; stderr: string }): Out => {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()) as Out;
};

describe('tools/eval/word-frequency.mjs', () => {
  // counts after normalization: the 3, cat 2, sat 1, on 1 ("The" and "CAT," normalize)
  const manifest = file(
    'train.jsonl',
    ['The cat sat', 'the CAT, on', 'the'].map((text, i) => JSON.stringify({ id: `u${i}`, text })).join('\n') + '\n',
  );
  const ref = file('ref.txt', 'the cat sat\nthe dog on the mat\n');
  // row 1 says the and sat; row 2 says the (twice in the reference: both count as said) and mat
  const hyp = file('hyp.txt', 'the sat sat\nthe mat a\n');
  // the recognizer heard cat and the in row 1's oracle audio; dog and mat in row 2's
  const target = file('target.txt', 'the cat\ndog mat\n');

  it('buckets the reference words by training count, and counts those said, also among the target words', () => {
    const o = out(run('--ref', ref, '--hyp', hyp, '--train', manifest, '--target', target, '--edges', '1,2,3'));
    expect([o.utterances, o.trainWords]).toEqual([2, 4]);
    expect(o.buckets.map((b) => [b.from, b.to, b.words, b.said, b.inTarget, b.saidOfTarget])).toEqual([
      [0, 0, 2, 1, 2, 1], // dog (in the target, not said), mat (target, said)
      [1, 1, 2, 1, 0, 0], // sat (said), on (not said)
      [2, 2, 1, 0, 1, 0], // cat (target, not said)
      [3, null, 3, 3, 1, 1], // the x 3 (said each time; row 1's target holds it)
    ]);
    expect(o.buckets.map((b) => [b.saidShare, b.saidOfTargetShare])).toEqual([
      [0.5, 0.5],
      [0.5, null],
      [0, 0],
      [1, 1],
    ]);
  });

  it('a plain-text training file counts the same; without --target no target fields; files pool', () => {
    const plain = file('train.txt', 'The cat sat\nthe CAT, on\nthe\n');
    const a = out(run('--ref', ref, '--hyp', hyp, '--train', plain, '--edges', '1,2,3'));
    expect(a.buckets.map((b) => [b.words, b.said])).toEqual([
      [2, 1],
      [2, 1],
      [1, 0],
      [3, 3],
    ]);
    expect(a.buckets[0]).not.toHaveProperty('inTarget');
    // the same hypothesis file twice, against one target: every count doubles
    const p = out(run('--ref', ref, '--hyp', `${hyp},${hyp}`, '--train', manifest, '--target', target, '--edges', '1,2,3'));
    expect(p.utterances).toBe(4);
    expect(p.buckets.map((b) => [b.words, b.said, b.inTarget, b.saidOfTarget])).toEqual([
      [4, 2, 4, 2],
      [4, 2, 0, 0],
      [2, 0, 2, 0],
      [6, 6, 2, 2],
    ]);
  });

  it('a manifest line without a text string: exit 2 naming the line', () => {
    const bad = file('bad.jsonl', '{"text":"a"}\n{"id":"x"}\n');
    const r = run('--ref', ref, '--hyp', hyp, '--train', bad);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.jsonl:2: not a JSON object with a "text" string/);
  });

  it('bad input: no --hyp, edges not increasing, files of different lengths, no --train: exit 2', () => {
    refusesBadInput(['--edges', '5,5'], ['--train', manifest]);
    expect(run('--ref', ref, '--hyp', hyp).status).toBe(2);
  });
});
