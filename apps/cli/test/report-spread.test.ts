// How much an ASR evaluation's transcripts vary (zipper eval report, "do the transcripts follow the
// audio?"): counts against a hand count, ties to the first in split order, and the table cell.
import { describe, expect, it } from 'vitest';
import { quoted } from '../src/eval/report-format.js';
import { transcriptSpread } from '../src/eval/report-runs.js';

describe('transcriptSpread', () => {
  it('counts distinct transcripts and the most frequent one', () => {
    const constant = Array.from({ length: 200 }, () => 'a person who is not a member of a group');
    expect(transcriptSpread(constant)).toEqual({
      utterances: 200,
      distinct: 1,
      top: 'a person who is not a member of a group',
      topCount: 200,
    });
    expect(transcriptSpread(['b', 'a', 'a', '', 'c', ''])).toEqual({ utterances: 6, distinct: 4, top: 'a', topCount: 2 });
    expect(transcriptSpread(['x', 'y', 'y', 'x'])).toEqual({ utterances: 4, distinct: 2, top: 'x', topCount: 2 }); // a tie: the first written
    expect(transcriptSpread([])).toEqual({ utterances: 0, distinct: 0, top: '', topCount: 0 });
  });

  it('writes a transcript as a table cell: quoted, cut, pipes escaped, empty named', () => {
    expect(quoted('the cat')).toBe('"the cat"');
    expect(quoted('')).toBe('(empty)');
    expect(quoted('a|b')).toBe('"a\\|b"');
    const long = quoted('w'.repeat(100));
    expect(long).toBe(`"${'w'.repeat(79)}…"`);
  });
});
