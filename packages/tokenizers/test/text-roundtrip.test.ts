/** decode(encode(x)) === x for any string; lone surrogates come back as U+FFFD (documented). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainBpe } from '../src/index.js';
import { fortuneLines } from './text-fixtures.js';

const tok = trainBpe(fortuneLines(['wisdom', 'science']), { vocabSize: 701, specialTokens: ['<pad>', '<bos>', '<eos>'] });
const wellFormed = (s: string): string => s.replace(/\p{Surrogate}/gu, '\uFFFD');

describe('byte-level BPE round trip', () => {
  it('decode(encode(x)) === x for any full-Unicode string (astral planes, emoji, controls)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('decode(encode(x)) === x for grapheme strings and long mixed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
    const mixed = 'Grüße, 世界! 👩‍👩‍👧‍👦 naïve café\r\n\t\u0000\u2028 ' + 'x'.repeat(300);
    expect(tok.decode(tok.encode(mixed))).toBe(mixed);
  });

  it('encodes lone surrogates as U+FFFD, so they decode to U+FFFD', () => {
    const unit = fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (s) => {
        expect(tok.decode(tok.encode(s))).toBe(wellFormed(s));
      }),
      { numRuns: 500 },
    );
    expect(tok.decode(tok.encode('a\ud800b\udc00'))).toBe('a\ufffdb\ufffd');
  });

  it('keeps special tokens written in the text, and drops them with skipSpecial', () => {
    const ids = tok.encode('<bos>Hello there.<eos>');
    expect(ids[0]).toBe(tok.roleId('bos'));
    expect(ids[ids.length - 1]).toBe(tok.roleId('eos'));
    expect(tok.decode(ids)).toBe('<bos>Hello there.<eos>');
    expect(tok.decode(ids, { skipSpecial: true })).toBe('Hello there.');
  });

  it('compresses English: fewer ids than bytes on held-out text', () => {
    const text = fortuneLines(['people'], 500).join('');
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(ids.length / Buffer.byteLength(text)).toBeLessThan(0.5); // measured 0.467 with 701 ids; raw bytes would be 1.0;
  });
});
