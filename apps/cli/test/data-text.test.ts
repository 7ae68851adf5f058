import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@zipper/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildCorpus,
  buildData,
  countOverrides,
  itemSpecHash,
  MissingToolError,
  normalizeSentence,
  planBuild,
  prngOf,
  Progress,
  readAllSources,
  requireTool,
  resolveDataBuildConfig,
  spellDigits,
  spellNumber,
  spellOrdinal,
  splitSentences,
} from '../src/data/index.js';

describe('numbers', () => {
  it('spells cardinals, ordinals and years', () => {
    expect(['0', '7', '11', '13', '40', '101', '1000', '123456789'].map(spellDigits)).toEqual([
      'zero',
      'seven',
      'eleven',
      'thirteen',
      'forty',
      'one hundred one',
      'one thousand',
      'one hundred twenty three million four hundred fifty six thousand seven hundred eighty nine',
    ]);
    expect(spellDigits('007')).toBe('zero zero seven');
    expect(['1', '2', '3', '12', '21', '40', '100'].map(spellOrdinal)).toEqual([
      'first',
      'second',
      'third',
      'twelfth',
      'twenty first',
      'fortieth',
      'one hundredth',
    ]);
    expect(['1611', '1900', '1905', '2024', '2000', '250'].map(spellNumber)).toEqual([
      'sixteen eleven',
      'nineteen hundred',
      'nineteen oh five',
      'twenty twenty four',
      'two thousand',
      'two hundred fifty',
    ]);
  });
});

describe('normalization rule', () => {
  it("maps raw sentences to lowercase words over [a-z']", () => {
    const cases: [string, string | null][] = [
      ['And God said, Let there be light: and there was light.', 'and god said let there be light and there was light'],
      ["Don\u2019t panic -- it's only the 3rd time in 1,000 years!", "don't panic it's only the third time in one thousand years"],
      [
        'The caf\u00e9 opened in the 1970s at 2.5 miles & 50% off.',
        'the cafe opened in the nineteen seventies at two point five miles and fifty percent off',
      ],
      ['"Quoted," she said \'loudly\' to them.', 'quoted she said loudly to them'],
      ['x = y + 1; print(x)', null], // code-like symbol
      ['Too short.', null],
      [Array.from({ length: 25 }, () => 'word').join(' '), null],
    ];
    for (const [raw, want] of cases) expect(normalizeSentence(raw)).toBe(want);
  });

  it('is idempotent and its output always obeys the alphabet and length bounds (property)', () => {
    const wordRe = /^[a-z]+(?:'[a-z]+)*(?: [a-z]+(?:'[a-z]+)*)*$/;
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ019 .,;:!?\'"-&%()\u00e9\u2019'.split('')), maxLength: 120 }), (raw) => {
        const s = normalizeSentence(raw);
        if (s === null) return;
        expect(s).toMatch(wordRe);
        const n = s.split(' ').length;
        expect(n).toBeGreaterThanOrEqual(3);
        expect(n).toBeLessThanOrEqual(24);
        expect(normalizeSentence(s)).toBe(s);
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('splits running text into sentences', () => {
    expect(splitSentences('Hello there. "Who are you?" he asked.  I am 7 feet tall! ok')).toEqual([
      'Hello there.',
      '"Who are you?" he asked.',
      'I am 7 feet tall! ok',
    ]);
  });
});

describe('prngOf', () => {
  it('is a deterministic stream per label with the right moments', () => {
    const a = prngOf('x');
    const b = prngOf('x');
    const c = prngOf('y');
    const xs = Array.from({ length: 7 }, () => a.nextUint32());
    expect(Array.from({ length: 7 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 7 }, () => c.nextUint32())).not.toEqual(xs);
    const r = prngOf('moments');
    const n = 100_003;
    let s = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      s += r.next();
      const g = r.gaussian();
      g1 += g;
      g2 += g * g;
    }
    expect(s / n).toBeCloseTo(0.5, 2);
    expect(g1 / n).toBeCloseTo(0, 1);
    expect(g2 / n).toBeCloseTo(1, 1);
    const perm = prngOf('p').shuffle([...Array(13).keys()]);
    expect([...perm].sort((p, q) => p - q)).toEqual([...Array(13).keys()]);
    expect(perm).not.toEqual([...Array(13).keys()]);
    // the stream the committed manifest hashes were built with (printed by the builder's own
    // xoshiro128** before it moved to @zipper/common)
    expect(perm).toEqual([6, 10, 2, 3, 11, 8, 5, 12, 1, 9, 7, 0, 4]);
  });
});

describe('config and tools', () => {
  it('resolves defaults without mutating and names broken invariants', () => {
    const opts = Object.freeze({ out: 'd', size: 'small' as const });
    const cfg = resolveDataBuildConfig(opts);
    expect(cfg.counts.aligned).toBe(500);
    expect(cfg.jobs).toBe(2);
    expect(opts).toEqual({ out: 'd', size: 'small' });
    expect(() => resolveDataBuildConfig({ out: 'd', seed: -1 })).toThrow(ConfigError);
    expect(() => resolveDataBuildConfig({ out: 'd', size: 'huge' as never })).toThrow(/size "huge"/);
    expect(() => resolveDataBuildConfig({ out: 'd', counts: { dev: 0 } })).toThrow(/counts.dev = 0/);
    expect(() => resolveDataBuildConfig({ out: 'd', snrDb: [15, 5] })).toThrow(/snrDb/);
  });

  it('a missing synthesizer is a typed error naming the Debian package', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'zipper-nopath-'));
    expect(() => requireTool('flite', { PATH: empty })).toThrow(MissingToolError);
    expect(() => requireTool('flite', { PATH: empty })).toThrow(/apt-get install flite/);
    await expect(buildData({ out: join(empty, 'out'), env: { PATH: empty } })).rejects.toThrow(
      /"flite" not found on PATH.*apt-get install flite/,
    );
    // Everything present except espeak-ng: the error names espeak-ng.
    const partial = mkdtempSync(join(tmpdir(), 'zipper-partial-'));
    for (const t of ['flite', 'sox', 'bible'] as const) symlinkSync(requireTool(t), join(partial, t));
    const err = await buildData({ out: join(partial, 'out'), env: { PATH: partial } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingToolError);
    expect((err as MissingToolError).debianPackage).toBe('espeak-ng');
    expect((err as Error).message).toMatch(/apt-get install espeak-ng/);
  });

  it('renders a progress bar', () => {
    const p = new Progress('synth', 13, { write: () => true, isTTY: false } as never, false);
    for (let i = 0; i < 7; i++) p.tick();
    expect(p.render()).toMatch(/^synth \[#{16}\.{14}\] 7\/13 53\.8% /);
  });
});

describe('split plan on the real corpus at --size full', () => {
  let memo: ReturnType<typeof buildCorpus> | undefined;
  const realCorpus = () => (memo ??= buildCorpus(readAllSources()));

  it('has enough sentences, keeps every split disjoint, nests aligned subsets and moves with the seed', () => {
    const corpus = realCorpus();
    expect(corpus.sentences.length).toBeGreaterThan(150_000);
    const bytes = corpus.sentences.reduce((n, s) => n + s.length + 1, 0);
    expect(bytes).toBeGreaterThan(5e6); // several MB of text
    const cfg = resolveDataBuildConfig({ out: 'unused', size: 'full', seed: 11 });
    const plan = planBuild(corpus.sentences, cfg);
    const owner = new Map<string, string>();
    for (const s of plan.textOnly) owner.set(s, 'text-only');
    for (const it of plan.items) {
      const split = it.split === 'aligned-tts' || it.split === 'aligned-asr' ? 'aligned' : it.split;
      const prev = owner.get(it.text);
      expect(prev === undefined || prev === split, `"${it.text}" in ${prev} and ${split}`).toBe(true);
      owner.set(it.text, split);
    }
    expect(owner.size).toBe(corpus.sentences.length); // every sentence used exactly once
    const c = cfg.counts;
    const aligned = plan.items.filter((i) => i.split === 'aligned-asr');
    expect(aligned).toHaveLength(c.aligned);
    const inSubset = (p: number) => new Set(aligned.filter((i) => i.subset! <= p).map((i) => i.text));
    const [s1, s10, s100] = [inSubset(1), inSubset(10), inSubset(100)];
    expect([s1.size, s10.size, s100.size]).toEqual([Math.ceil(c.aligned / 100), Math.ceil(c.aligned / 10), c.aligned]);
    expect([...s1].every((t) => s10.has(t)) && [...s10].every((t) => s100.has(t))).toBe(true);
    for (const it of plan.items) {
      const n = it.text.split(' ').length;
      expect(n >= cfg.audioWords[0] && n <= cfg.audioWords[1]).toBe(true);
    }
    const other = planBuild(corpus.sentences, { ...cfg, seed: 12 });
    const testClean = (p: typeof plan) => p.items.filter((i) => i.split === 'test-clean').map((i) => i.text);
    expect(testClean(other)).not.toEqual(testClean(plan));
    expect(testClean(planBuild(corpus.sentences, cfg))).toEqual(testClean(plan));
  });

  it('--aligned grows the pool: same dev/test sentences, same first pairs and voices, nested subsets, text-only shrinks by the growth', () => {
    const corpus = realCorpus();
    const base = resolveDataBuildConfig({ out: 'unused', size: 'full', seed: 0 });
    const grown = resolveDataBuildConfig({ out: 'unused', size: 'full', seed: 0, counts: { aligned: 15_000 } });
    expect(countOverrides(base)).toBeUndefined();
    expect(countOverrides(grown)).toEqual({ aligned: 15_000 });
    const [a, b] = [planBuild(corpus.sentences, base), planBuild(corpus.sentences, grown)];
    const split = (p: typeof a, name: string) => p.items.filter((i) => i.split === name);
    for (const name of ['dev', 'test-clean', 'test-other']) expect(split(b, name)).toEqual(split(a, name));
    for (const name of ['aligned-asr', 'aligned-tts']) {
      const [x, y] = [split(a, name), split(b, name)];
      expect(y).toHaveLength(15_000);
      // Same id, text and voice, so the same spec hash: the base build's audio is reused.
      expect(y.slice(0, 5_000).map((i) => itemSpecHash(i, grown))).toEqual(x.map((i) => itemSpecHash(i, base)));
      expect(y.filter((i) => i.subset === 1)).toHaveLength(150);
      expect(y.filter((i) => i.subset! <= 10).map((i) => i.text)).toEqual(y.slice(0, 1_500).map((i) => i.text));
    }
    const textOnly = new Set(a.textOnly);
    expect(b.textOnly.length).toBe(a.textOnly.length - 10_000);
    expect(b.textOnly.every((t) => textOnly.has(t))).toBe(true);
    // The grown pairs are the base build's speech-only sentences first: none was ever a test sentence.
    const tests = new Set([...split(a, 'test-clean'), ...split(a, 'test-other'), ...split(a, 'dev')].map((i) => i.text));
    expect(split(b, 'aligned-asr').some((i) => tests.has(i.text))).toBe(false);
    expect(split(b, 'aligned-asr')[5_000]!.text).toBe(split(a, 'speech-only')[0]!.text);
  });
});
