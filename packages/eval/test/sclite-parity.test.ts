/**
 * Parity with NIST sclite (Debian sctk): on 260 hypothesis/reference pairs (empty hypotheses,
 * empty references, insertions only, deletions only, substitutions, reorderings, repeated words,
 * non-ASCII words) every utterance's C/S/D/I counts and the corpus totals equal sclite's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mulberry32 } from '@zipper/common';
import { afterAll, describe, expect, it } from 'vitest';
import { align, scoreCorpus, words } from '../src/index.js';

const SCLITE = '/usr/lib/sctk/bin/sclite';

const VOCAB = [
  'the',
  'a',
  'cat',
  'sat',
  'on',
  'mat',
  'and',
  'god',
  'said',
  'let',
  'there',
  'be',
  'light',
  "don't",
  'x',
  'café',
  'über',
  'naïve',
  'straße',
  'señor',
  'привет',
  'мир',
  '日本',
  'ελλάδα',
];

function pairs(): Array<[string, string]> {
  const rng = new Mulberry32(2405);
  const pick = () => VOCAB[Math.floor(rng.next() * VOCAB.length)]!;
  const sentence = (n: number) => Array.from({ length: n }, pick);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < 40; i++) {
    const ref = sentence(1 + Math.floor(rng.next() * 12));
    const kind = i % 5;
    if (kind === 0) out.push([ref.join(' '), '']); // empty hypothesis
    if (kind === 1) out.push([ref.join(' '), [...ref, ...sentence(1 + (i % 4))].join(' ')]); // insertions only (end)
    if (kind === 2) out.push([ref.join(' '), ref.filter((_, j) => j % 2 === 0).join(' ')]); // deletions only
    if (kind === 3) out.push([ref.join(' '), ref.map((w, j) => (j % 3 === 1 ? pick() : w)).join(' ')]); // substitutions
    if (kind === 4) out.push([ref.join(' '), [...ref].reverse().join(' ')]); // reordering
  }
  for (let i = 0; i < 200; i++) {
    // random edits of every kind
    const ref = sentence(Math.floor(rng.next() * 14));
    const hyp: string[] = [];
    for (const w of ref) {
      const r = rng.next();
      if (r < 0.55) hyp.push(w);
      else if (r < 0.7) hyp.push(pick());
      else if (r < 0.85) continue;
      else hyp.push(w, pick());
    }
    if (rng.next() < 0.2) hyp.unshift(pick());
    out.push([ref.join(' '), hyp.join(' ')]);
  }
  out.push(['', 'inserted words only'], ['', ''], ['a a a a', 'a a'], ['a b a b a b', 'b a b a'], ['one', 'one one one']);
  out.push(['the cat', 'THE Cat'], ["don't stop", 'dont stop'], ['café', 'cafe'], ['a b c d', 'a x c'], ['hello world', 'world hello']);
  out.push(
    ['x x x x x x x x', 'y'],
    ['y', 'x x x x x x x x'],
    ['a b c d e f g', 'g f e d c b a'],
    ['ελλάδα мир 日本', 'мир ελλάδα 日本 日本'],
    ['be be be', 'light'],
  );
  out.push(
    ['the the cat', 'the cat cat'],
    ['let there be light', 'let be there light'],
    ['a', 'b'],
    ['a b', 'b c'],
    ['said god', 'god said god'],
  );
  return out;
}

interface Counts {
  c: number;
  s: number;
  d: number;
  i: number;
}

/** Runs sclite on the pairs (normalized words), returns its per-utterance counts in order. */
function sclite(list: Array<[string, string]>, dir: string): Counts[] {
  const trn = (side: 0 | 1) => list.map((p, k) => `${words(p[side]).join(' ')} (spk_u${String(k).padStart(4, '0')})`).join('\n') + '\n';
  writeFileSync(join(dir, 'ref.trn'), trn(0));
  writeFileSync(join(dir, 'hyp.trn'), trn(1));
  const report = execFileSync(
    SCLITE,
    ['-r', join(dir, 'ref.trn'), 'trn', '-h', join(dir, 'hyp.trn'), 'trn', '-i', 'spu_id', '-e', 'utf-8', '-o', 'pralign', 'stdout'],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const byId = new Map<string, Counts>();
  const re = /id: \(spk_u(\d+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)/g;
  for (const m of report.matchAll(re)) byId.set(m[1]!, { c: +m[2]!, s: +m[3]!, d: +m[4]!, i: +m[5]! });
  return list.map((_, k) => {
    const c = byId.get(String(k).padStart(4, '0'));
    if (!c) throw new Error(`sclite printed no scores for utterance ${k}`);
    return c;
  });
}

describe('sclite parity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zipper-sclite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('equals sclite on every utterance and on the corpus', () => {
    if (!existsSync(SCLITE)) throw new Error(`${SCLITE} not found; install NIST sclite with: sudo apt-get install sctk`);
    const list = pairs();
    expect(list.length).toBeGreaterThanOrEqual(200);
    const ref = sclite(list, dir);
    const ours = list.map(([r, h]) => align(words(r), words(h)));
    const mismatches = ours
      .map((a, k) => ({ k, ours: { c: a.correct, s: a.sub, d: a.del, i: a.ins }, sclite: ref[k]!, pair: list[k] }))
      .filter((x) => x.ours.c !== x.sclite.c || x.ours.s !== x.sclite.s || x.ours.d !== x.sclite.d || x.ours.i !== x.sclite.i);
    expect(mismatches).toEqual([]);
    const total = ref.reduce((a, c) => ({ c: a.c + c.c, s: a.s + c.s, d: a.d + c.d, i: a.i + c.i }), { c: 0, s: 0, d: 0, i: 0 });
    const corpus = scoreCorpus(
      list.map((p) => p[0]),
      list.map((p) => p[1]),
    );
    expect({ words: corpus.words, sub: corpus.sub, del: corpus.del, ins: corpus.ins }).toEqual({
      words: total.c + total.s + total.d,
      sub: total.s,
      del: total.d,
      ins: total.i,
    });
    expect(corpus.wer).toBe((total.s + total.d + total.i) / (total.c + total.s + total.d));
  });
});
