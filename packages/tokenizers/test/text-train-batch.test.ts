/** Training config, reserved ids, min frequency, batch padding/truncation, tokenizer directories. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  encodeBatch,
  loadTextTokenizer,
  MANIFEST_FILE,
  resolveBatchEncodeOptions,
  resolveBpeTrainConfig,
  saveTextTokenizer,
  TEXT_TOKENIZER_FORMAT_VERSION,
  TokenIdError,
  TokenizerConfigError,
  TokenizerFormatError,
  trainBpe,
} from '../src/index.js';
import { fortuneLines } from './text-fixtures.js';

const lines = fortuneLines(['wisdom'], 1300);

describe('training config', () => {
  it('fills defaults without mutating its input', () => {
    const partial = { vocabSize: 300 };
    const c = resolveBpeTrainConfig(partial);
    expect(c).toEqual({
      vocabSize: 300,
      minFrequency: 2,
      specialTokens: ['<pad>', '<bos>', '<eos>'],
      reservedTokens: 0,
      alphabet: 'bytes',
      addPrefixSpace: false,
    });
    expect(partial).toEqual({ vocabSize: 300 });
  });

  it.each([
    [{ vocabSize: 258 }, /vocabSize .* >= 259/],
    [{ vocabSize: 300, reservedTokens: 50 }, /vocabSize .* >= 309/],
    [{ minFrequency: -1 }, /minFrequency/],
    [{ specialTokens: ['<bos>', '<bos>'] }, /listed twice/],
    [{ specialTokens: [''] }, /non-empty/],
    [{ alphabet: 'ascii' as 'bytes' }, /alphabet/],
    [{ vocabSize: 4_000_000 }, /at most/],
  ])('rejects %o', (partial, message) => {
    expect(() => resolveBpeTrainConfig(partial)).toThrow(TokenizerConfigError);
    expect(() => resolveBpeTrainConfig(partial)).toThrow(message);
  });
});

describe('training', () => {
  it('puts special and reserved tokens at ids 0.., then the 256 bytes, then exactly vocabSize - 263 merges', () => {
    const tok = trainBpe(lines, { vocabSize: 503, specialTokens: ['<pad>', '<bos>', '<eos>', '<sep>'], reservedTokens: 3 });
    expect(tok.vocabSize).toBe(503);
    expect([0, 1, 2, 3, 4, 6].map((i) => tok.idToToken(i))).toEqual([
      '<pad>',
      '<bos>',
      '<eos>',
      '<sep>',
      '<|reserved_0|>',
      '<|reserved_2|>',
    ]);
    expect(tok.addedTokens.every((t) => t.special)).toBe(true);
    expect(tok.model.merges.length).toBe(503 - 7 - 256);
    expect([tok.roleId('pad'), tok.roleId('bos'), tok.roleId('eos')]).toEqual([0, 1, 2]);
    // A reserved id round-trips through text like any special token.
    expect(tok.encode('<|reserved_1|>')).toEqual([5]);
  });

  it('stops merging at minFrequency: every merge occurs at least that often in the corpus', () => {
    const big = trainBpe(lines, { vocabSize: 30000, minFrequency: 1 });
    const pruned = trainBpe(lines, { vocabSize: 30000, minFrequency: 11 });
    expect(pruned.model.merges.length).toBeLessThan(big.model.merges.length / 3);
    // Its merges are a prefix of the unpruned run (same greedy order, stopped earlier).
    expect(big.model.merges.slice(0, pruned.model.merges.length)).toEqual(pruned.model.merges);
    // The last kept merge's token occurs >= 11 times when the corpus is encoded with the pruned tokenizer.
    const [a, b] = pruned.model.merges[pruned.model.merges.length - 1]!;
    const merged = pruned.tokenToId(a + b)!;
    const uses = lines.flatMap((l) => pruned.encode(l)).filter((i) => i === merged).length;
    expect(uses).toBeGreaterThanOrEqual(11);
  });

  it('is deterministic', () => {
    const a = trainBpe(lines.slice(0, 400), { vocabSize: 401 });
    const b = trainBpe(lines.slice(0, 400), { vocabSize: 401 });
    expect(a.model.merges).toEqual(b.model.merges);
  });
});

describe('batch encoding', () => {
  const tok = trainBpe(lines, { vocabSize: 401 });
  const texts = [
    'A penny saved is a penny earned.',
    'Hi',
    '',
    'The quick brown fox jumps over the lazy dog, twice: the quick brown fox.',
    'x y z',
    'naïve 😀',
    'ok',
  ];
  const plain = texts.map((t) => tok.encode(t));
  const [PAD, BOS, EOS] = [0, 1, 2];

  it('pads 7 texts on the right to the longest, with an attention mask', () => {
    const { ids, attentionMask, lengths } = encodeBatch(tok, texts, { addBos: true, addEos: true });
    const t = Math.max(...plain.map((p) => p.length)) + 2;
    expect(ids.length).toBe(7);
    ids.forEach((row, b) => {
      expect(row.length).toBe(t);
      expect(row.slice(0, lengths[b])).toEqual([BOS, ...plain[b]!, EOS]);
      expect(row.slice(lengths[b])).toEqual(new Array(t - lengths[b]!).fill(PAD));
      expect(attentionMask[b]).toEqual([...new Array(lengths[b]).fill(1), ...new Array(t - lengths[b]!).fill(0)]);
    });
  });

  it('truncates to maxLength keeping bos/eos, pads left, rounds to a multiple', () => {
    const { ids, attentionMask, lengths } = encodeBatch(tok, texts, {
      addBos: true,
      addEos: true,
      maxLength: 11,
      padding: 'maxLength',
      paddingSide: 'left',
      padToMultipleOf: 13,
    });
    ids.forEach((row, b) => {
      const keep = Math.min(plain[b]!.length, 9);
      expect(lengths[b]).toBe(keep + 2);
      expect(row.length).toBe(13);
      expect(row.slice(13 - lengths[b]!)).toEqual([BOS, ...plain[b]!.slice(0, keep), EOS]);
      expect(attentionMask[b]!.reduce((s, x) => s + x, 0)).toBe(lengths[b]);
      expect(attentionMask[b]![12]).toBe(1);
    });
    const left = tok.encodeBatch([texts[3]!], { maxLength: 7, truncationSide: 'left', padding: 'none' });
    expect(left.ids[0]).toEqual(plain[3]!.slice(-7));
  });

  it('validates options', () => {
    expect(() => resolveBatchEncodeOptions({ maxLength: 2, addBos: true, addEos: true })).toThrow(/above the 2 bos\/eos/);
    expect(() => resolveBatchEncodeOptions({ padding: 'maxLength' })).toThrow(/needs maxLength/);
    expect(() => resolveBatchEncodeOptions({ padToMultipleOf: 0 })).toThrow(TokenizerConfigError);
    const noPad = trainBpe(lines.slice(0, 50), { vocabSize: 260, specialTokens: ['<eos>'] });
    expect(() => encodeBatch(noPad, ['a', 'bb'])).toThrow(/no pad token/);
  });

  it('rejects ids outside the vocabulary when decoding', () => {
    expect(() => tok.decode([5, 401])).toThrow(TokenIdError);
    expect(() => tok.decode([-1])).toThrow(TokenIdError);
    expect(() => tok.decode([1.5])).toThrow(TokenIdError);
  });
});

describe('tokenizer directory', () => {
  const tok = trainBpe(lines, { vocabSize: 307, reservedTokens: 2 });

  it('saves and loads with the same ids, and returns the ref a checkpoint stores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipper-tokdir-'));
    const ref = await saveTextTokenizer(tok, dir);
    expect(ref).toMatchObject({ dir, formatVersion: TEXT_TOKENIZER_FORMAT_VERSION, vocabSize: 307 });
    expect(ref.sha256).toMatch(/^[0-9a-f]{64}$/);
    const { tokenizer, manifest } = await loadTextTokenizer(dir, ref);
    expect(manifest.roles).toEqual({ bos: '<bos>', eos: '<eos>', pad: '<pad>' });
    const text = lines.slice(0, 50).join('');
    expect(tokenizer.encode(text)).toEqual(tok.encode(text));
  });

  it('refuses a tampered tokenizer.json, a newer format version, and a checkpoint built with another tokenizer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipper-tokdir-'));
    const ref = await saveTextTokenizer(tok, dir);
    const other = await saveTextTokenizer(trainBpe(lines, { vocabSize: 311 }), mkdtempSync(join(tmpdir(), 'zipper-tokdir-')));
    await expect(loadTextTokenizer(dir, other)).rejects.toThrow(/built with a different tokenizer/);

    const manifestPath = join(dir, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, formatVersion: 2 }));
    await expect(loadTextTokenizer(dir)).rejects.toThrow(/formatVersion: this build reads version 1/);
    writeFileSync(manifestPath, JSON.stringify(manifest));

    const hfPath = join(dir, 'tokenizer.json');
    writeFileSync(hfPath, readFileSync(hfPath, 'utf8').replace('"<bos>"', '"<BOS>"'));
    await expect(loadTextTokenizer(dir, ref)).rejects.toThrow(TokenizerFormatError);
    await expect(loadTextTokenizer(join(dir, 'missing'))).rejects.toThrow(/cannot read/);
  });
});

describe('word cache', () => {
  it('returns what was stored for every span, across growth and capacity clears (model-based)', async () => {
    const { WordCache } = await import('../src/text/word-cache.js');
    const fc = (await import('fast-check')).default;
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'é', '😀', ' '), minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(fc.array(word, { maxLength: 200 }), fc.constantFrom(7, 11, 13, 1000), (words, capacity) => {
        const cache = new WordCache(capacity);
        const ref = new Map<string, number[]>();
        for (const w of words) {
          const text = `<${w}>`; // look the word up as a span of a longer string
          const h = WordCache.hash(text, 1, text.length - 1);
          expect(h).toBe(WordCache.hash(w, 0, w.length));
          const out: number[] = [];
          const cached = ref.has(w);
          const hit = cache.get(text, 1, text.length - 1, h, out);
          expect(hit).toBe(cached); // the cache holds exactly what the reference holds
          if (hit) expect(out).toEqual(ref.get(w));
          else {
            if (cache.size >= capacity) ref.clear();
            const ids = [...w].map((c) => c.codePointAt(0)!);
            cache.set(w, h, ids);
            ref.set(w, ids);
          }
        }
        expect(cache.size).toBeLessThanOrEqual(capacity);
      }),
      { numRuns: 300 },
    );
  });
});
