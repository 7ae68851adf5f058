/**
 * Parity with Hugging Face `tokenizers` (native Rust, npm 0.23.2) on a fortunes corpus:
 * HF loads our tokenizer.json and gives our ids; we load HF-trained files and give HF's ids;
 * our trainer reproduces HF's BpeTrainer merges exactly.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BpeTokenizer,
  bytesToByteLevel,
  parseHfJson,
  preTokenize,
  preTokenizeWithRegex,
  stringifyHfJson,
  trainBpe,
  utf8Encode,
} from '../src/index.js';
import { emptyHfByteLevelBpe, fortuneLines, hf, SCRIPT_RANGES } from './text-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'zipper-bpe-'));
const trainLines = fortuneLines(['fortunes', 'literature', 'science', 'wisdom']); // ~6.9k lines
const testLines = fortuneLines(['people', 'computers'], 6000); // held out

const scriptChar = fc.oneof(...SCRIPT_RANGES.map(([lo, hi]) => fc.integer({ min: lo, max: hi }))).map((c) => String.fromCodePoint(c));
const scriptString = fc.string({ unit: scriptChar, maxLength: 40 });

async function hfIds(tok: ReturnType<typeof hf.Tokenizer.fromFile>, texts: string[]): Promise<number[][]> {
  return (await tok.encodeBatch(texts)).map((e) => e.getIds());
}

describe('our tokenizer.json in HF tokenizers', () => {
  let ours: BpeTokenizer;
  let theirs: ReturnType<typeof hf.Tokenizer.fromFile>;
  beforeAll(() => {
    ours = trainBpe(trainLines, { vocabSize: 1031, specialTokens: ['<pad>', '<bos>', '<eos>'], reservedTokens: 3 });
    const file = join(dir, 'ours.json');
    writeFileSync(file, stringifyHfJson(ours));
    theirs = hf.Tokenizer.fromFile(file);
  });

  it('has the trained size: 3 special + 3 reserved + 256 bytes + merges = 1031', () => {
    expect(ours.vocabSize).toBe(1031);
    expect(theirs.getVocabSize(true)).toBe(1031);
    expect(ours.model.merges.length).toBe(1031 - 6 - 256);
    expect([0, 1, 2, 3, 5].map((i) => theirs.idToToken(i))).toEqual(['<pad>', '<bos>', '<eos>', '<|reserved_0|>', '<|reserved_2|>']);
  });

  it('gives HF ids on 6,000 held-out lines and on the whole text at once', async () => {
    const expected = await hfIds(theirs, testLines);
    const got = testLines.map((l) => ours.encode(l));
    let mismatches = 0;
    got.forEach((ids, i) => {
      if (JSON.stringify(ids) !== JSON.stringify(expected[i])) mismatches++;
    });
    expect(mismatches).toBe(0);
    expect(got.flat().length).toBeGreaterThan(50_000);
    const whole = testLines.join('');
    expect(ours.encode(whole)).toEqual((await theirs.encode(whole)).getIds());
  });

  it('matches special tokens written in the text the way HF does', async () => {
    const texts = ['<bos>Hello, world!<eos>', 'a<pad><pad>b <eos> c', '<|reserved_1|><bos', 'x<eos>\n<bos>y'];
    expect(texts.map((t) => ours.encode(t))).toEqual(await hfIds(theirs, texts));
    expect(ours.encode('<bos>hi')[0]).toBe(1);
  });

  it('handles special tokens outside the byte alphabet, overlapping ones, and a byte-level-spelled one as HF does', async () => {
    const tok = trainBpe(trainLines.slice(0, 300), { vocabSize: 307, specialTokens: ['<pad>', '<|ü😀|>', '<|ü', 'Ġhello', '</s>'] });
    const file = join(dir, 'specials.json');
    writeFileSync(file, stringifyHfJson(tok));
    const ref = hf.Tokenizer.fromFile(file);
    const texts = ['x<|ü😀|>y', 'a<|ü😀 b <|ü', 'Ġhello hello', '</s></s>', '<|ü<|ü😀|>'];
    expect(texts.map((t) => tok.encode(t))).toEqual(await hfIds(ref, texts));
    for (const t of texts) {
      const ids = tok.encode(t);
      expect(tok.decode(ids)).toBe(await ref.decode(ids, false));
      expect(tok.decode(ids, { skipSpecial: true })).toBe(await ref.decode(ids, true));
    }
  });

  it('honours lstrip / rstrip / single_word / normalized / non-special added tokens as HF does', async () => {
    const texts = [
      'a <bos> b',
      'a<bos>b',
      'x  <eos>  y',
      '<eos> <eos>',
      'w<pad> z',
      ' <pad>',
      'é<bos>',
      '_<bos>_',
      '1<eos>',
      'a\t<bos>\n b',
    ];
    const variants = [
      { lstrip: true },
      { rstrip: true },
      { lstrip: true, rstrip: true },
      { single_word: true },
      { normalized: true },
      { special: false, normalized: true },
    ];
    for (const [k, flags] of variants.entries()) {
      const j = JSON.parse(stringifyHfJson(ours));
      j.added_tokens = j.added_tokens.map((t: object) => ({ ...t, ...flags }));
      const file = join(dir, `added-${k}.json`);
      writeFileSync(file, JSON.stringify(j));
      const mine = parseHfJson(JSON.stringify(j));
      const ref = hf.Tokenizer.fromFile(file);
      const ids = texts.map((t) => mine.encode(t));
      expect(ids).toEqual(await hfIds(ref, texts));
      for (const x of ids) expect(mine.decode(x, { skipSpecial: true })).toBe(await ref.decode(x, true));
    }
  });

  it('reads add_prefix_space and use_regex: false the way HF does', async () => {
    const texts = ['hello', ' hello', '<bos>hi there<eos> you', '', '\nx', 'a<pad>', "it's  2 x"];
    for (const [aps, regex] of [
      [true, true],
      [false, false],
      [true, false],
    ] as const) {
      const j = JSON.parse(stringifyHfJson(ours));
      j.pre_tokenizer.add_prefix_space = aps;
      j.pre_tokenizer.use_regex = regex;
      const file = join(dir, `variant-${aps}-${regex}.json`);
      writeFileSync(file, JSON.stringify(j));
      const mine = parseHfJson(JSON.stringify(j));
      expect(texts.map((t) => mine.encode(t))).toEqual(await hfIds(hf.Tokenizer.fromFile(file), texts));
    }
  });

  it('gives HF ids on random full-Unicode strings and on mixed-script text with emoji and odd spaces', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(scriptString, fc.string({ unit: 'binary', maxLength: 40 })), async (s) => {
        expect(ours.encode(s)).toEqual((await theirs.encode(s)).getIds());
      }),
      { numRuns: 300 },
    );
  });

  it('gives HF ids on long words (the heap merge path) and long runs of spaces', async () => {
    const texts = ['ab'.repeat(97), 'the'.repeat(61), ' '.repeat(113) + 'x', 'é'.repeat(53), '😀'.repeat(29), 'a-'.repeat(67)];
    expect(texts.map((t) => ours.encode(t))).toEqual(await hfIds(theirs, texts));
  });

  it('decodes any id sequence as HF does (invalid UTF-8 -> U+FFFD), with and without specials', async () => {
    const idSeq = fc.array(fc.integer({ min: 0, max: ours.vocabSize - 1 }), { maxLength: 23 });
    await fc.assert(
      fc.asyncProperty(idSeq, fc.boolean(), async (ids, skip) => {
        expect(ours.decode(ids, { skipSpecial: skip })).toBe(await theirs.decode(ids, skip));
      }),
      { numRuns: 300 },
    );
  });
});

describe('HF-trained tokenizer.json in ours', () => {
  it('trains identically to HF BpeTrainer and gives HF ids on 6,000 held-out lines', async () => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, trainLines.join(''));
    const theirs = hf.Tokenizer.fromString(emptyHfByteLevelBpe());
    theirs.train([corpus]); // HF's default BpeTrainer: vocab 30000, min frequency 0, observed alphabet
    const file = join(dir, 'hf.json');
    theirs.save(file, false);
    const hfJson = JSON.parse(readFileSync(file, 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] } };

    const loaded = parseHfJson(readFileSync(file, 'utf8'));
    const expected = await hfIds(theirs, testLines);
    expect(testLines.map((l) => loaded.encode(l))).toEqual(expected);

    const mine = trainBpe(trainLines, { vocabSize: 30000, minFrequency: 0, specialTokens: [], alphabet: 'observed' });
    expect(mine.model.merges.length).toBe(hfJson.model.merges.length);
    expect(mine.model.merges.length).toBeGreaterThan(10_000);
    expect(mine.model.merges).toEqual(hfJson.model.merges);
    expect(Object.fromEntries(mine.model.vocab)).toEqual(hfJson.model.vocab);
  });
});

describe('hand-made vocabularies: missing bytes, unk, fuse_unk, ignore_merges', () => {
  // Only ASCII letters and space as bytes; "abc" and "Ġabc" are in the vocabulary but no merge makes them.
  const ascii = [...'abcdefghijklmnopqrstuvwxyz', 'Ġ'];
  const vocab: Record<string, number> = {};
  for (const t of [...ascii, 'ab', 'abc', 'Ġa', 'Ġab', 'Ġabc', '<unk>']) vocab[t] = Object.keys(vocab).length;
  const merges = [
    ['a', 'b'],
    ['Ġ', 'a'],
    ['Ġa', 'b'],
  ];
  const texts = ['abc abcd xabc', 'ab 世界 c', 'zz☃☃z', 'abc', ' abc', 'a b c'];
  const variants = [
    ['dropped', { unk_token: null }],
    ['unk', { unk_token: '<unk>' }],
    ['fused unk', { unk_token: '<unk>', fuse_unk: true }],
    ['ignore_merges', { ignore_merges: true }],
  ] as const;

  it.each(variants)('%s: same ids as HF', async (name, model) => {
    const j = JSON.parse(emptyHfByteLevelBpe());
    j.model = { ...j.model, vocab, merges, ...model };
    const file = join(dir, `hand-${name}.json`);
    writeFileSync(file, JSON.stringify(j));
    const mine = parseHfJson(JSON.stringify(j));
    const ids = texts.map((t) => mine.encode(t));
    expect(ids).toEqual(await hfIds(hf.Tokenizer.fromFile(file), texts));
    const unks = mine.encode('zz☃☃z').filter((i) => i === vocab['<unk>']).length; // ☃ is 3 bytes, none in the vocabulary
    expect(unks).toBe({ dropped: 0, unk: 6, 'fused unk': 1, ignore_merges: 0 }[name]);
    if (name === 'ignore_merges') expect(mine.encode(' abc')).toEqual([vocab['Ġabc']]);
    else expect(mine.encode(' abc')).toEqual([vocab['Ġ'], vocab['ab'], vocab['c']]); // (a, b) ranks first, so Ġa never forms
  });
});

describe('pre-tokenizer', () => {
  const pre = hf.byteLevelPreTokenizer(false, true);
  const hfSplit = (s: string): string[] => pre.preTokenizeString(s).map(([p]) => p);
  const oursSplit = (s: string): string[] => preTokenize(s, false, true).map((p) => bytesToByteLevel(utf8Encode(p)));
  // Characters where the GPT-2 regex's alternatives meet: apostrophes, contraction letters, odd spaces.
  const tricky = fc.constantFrom(
    ' ',
    "'",
    's',
    'l',
    'r',
    'v',
    'e',
    'd',
    'm',
    't',
    '\t',
    '\n',
    '1',
    '٣',
    '!',
    '\u00a0',
    '\u0085',
    '\u3000',
    '\ufeff',
    '😀',
    'é',
  );
  const mixed = fc.string({ unit: fc.oneof(tricky, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 });

  it('splits like HF ByteLevel (GPT-2 regex, Oniguruma classes) on random full-Unicode text', () => {
    fc.assert(
      fc.property(fc.oneof(mixed, fc.string({ unit: 'binary', maxLength: 40 })), (s) => {
        expect(oursSplit(s)).toEqual(hfSplit(s));
      }),
      { numRuns: 1500 },
    );
  });

  it('classifies code points across all planes as HF does (every 97th code point, tables probed from HF)', () => {
    const bad: string[] = [];
    for (let c = 0; c <= 0x10ffff; c += 97) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      const s = `a${ch}1${ch}!${ch} ${ch}\t${ch}`;
      if (JSON.stringify(oursSplit(s)) !== JSON.stringify(hfSplit(s))) bad.push(c.toString(16));
    }
    expect(bad).toEqual([]);
  });

  it('the scanner splits exactly as the GPT-2 regex does (corpus and random text)', () => {
    const corpus = testLines.join('');
    expect(preTokenize(corpus, false, true)).toEqual(preTokenizeWithRegex(corpus));
    fc.assert(
      fc.property(mixed, (s) => {
        expect(preTokenize(s, false, true)).toEqual(preTokenizeWithRegex(s));
      }),
      { numRuns: 3000 },
    );
  });
});
