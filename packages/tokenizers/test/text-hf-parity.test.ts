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
import { BpeTokenizer, bytesToByteLevel, parseHfJson, preTokenize, stringifyHfJson, trainBpe, utf8Encode } from '../src/index.js';
import { emptyHfByteLevelBpe, fortuneLines, hf, STABLE_RANGES } from './text-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'zipper-bpe-'));
const trainLines = fortuneLines(['fortunes', 'literature', 'science', 'wisdom']); // ~6.9k lines
const testLines = fortuneLines(['people', 'computers'], 6000); // held out

const stableChar = fc.oneof(...STABLE_RANGES.map(([lo, hi]) => fc.integer({ min: lo, max: hi }))).map((c) => String.fromCodePoint(c));
const stableString = fc.string({ unit: stableChar, maxLength: 40 });

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

  it('gives HF ids on random strings of long-assigned Unicode characters, emoji and odd spaces', async () => {
    await fc.assert(
      fc.asyncProperty(stableString, async (s) => {
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

describe('pre-tokenizer', () => {
  it('splits like HF ByteLevel (GPT-2 regex, Oniguruma whitespace) on random text', () => {
    const pre = hf.byteLevelPreTokenizer(false, true);
    const fixed = ['a\u0085b', 'a\ufeff b', "I'll  go\n\n  there's 123abc", 'x\u3000\u3000y', "'S 'll'd", ' \n \t x  '];
    fc.assert(
      fc.property(fc.oneof(stableString, fc.constantFrom(...fixed)), (s) => {
        const ours = preTokenize(s, false, true).map((p) => bytesToByteLevel(utf8Encode(p)));
        expect(ours).toEqual(pre.preTokenizeString(s).map(([p]) => p));
      }),
      { numRuns: 1000 },
    );
  });
});
