// Text tokenizer input checks (issue 9, reliability defects 3 and 4): invalid UTF-8 is refused
// with its byte offset instead of becoming U+FFFD silently; an added token whose id a vocabulary
// entry already has is refused (it made "was as" decode to "w<pad> as").
import { describe, expect, it } from 'vitest';
import {
  firstInvalidUtf8,
  parseHfJson,
  stringifyHfJson,
  TextEncodingError,
  TokenizerFormatError,
  trainBpe,
  utf8DecodeStrict,
} from '../src/index.js';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('strict UTF-8 decoding', () => {
  it('names the offset of the first invalid byte', () => {
    const cases: [Uint8Array, number][] = [
      [bytes(0x61, 0x62, 0x63, 0xff), 3], // printf 'abc\xff'
      [bytes(0xc3), 0], // truncated 2-byte character
      [bytes(0x61, 0xe2, 0x82), 1], // truncated 3-byte character
      [bytes(0xc0, 0xaf), 0], // overlong '/'
      [bytes(0xe0, 0x80, 0xaf), 0], // overlong, 3 bytes
      [bytes(0x61, 0xed, 0xa0, 0x80), 1], // a UTF-16 surrogate
      [bytes(0xf4, 0x90, 0x80, 0x80), 0], // above U+10FFFF
      [bytes(0x61, 0x80), 1], // a lone continuation byte
      [bytes(0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xfe), 7], // '€😀' then 0xfe
    ];
    for (const [b, at] of cases) {
      expect(firstInvalidUtf8(b)).toBe(at);
      const err = (() => {
        try {
          utf8DecodeStrict(b, 'stdin');
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(TextEncodingError);
      expect((err as TextEncodingError).offset).toBe(at);
      expect((err as Error).message).toMatch(new RegExp(`^stdin is not valid UTF-8: byte offset ${at} \\(0x`));
    }
    expect(utf8DecodeStrict(bytes(0xef, 0xbb, 0xbf, 0x61))).toBe('\uFEFFa'); // BOM kept, as Buffer.toString does
  });

  it('agrees with the WHATWG decoder on 20,000 random byte strings', () => {
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) & 0xff;
    const fatal = new TextDecoder('utf-8', { fatal: true });
    for (let n = 0; n < 20_000; n++) {
      // bias toward multi-byte lead and continuation bytes
      const b = Uint8Array.from({ length: 1 + (rnd() % 8) }, () => (rnd() < 128 ? 0x80 | (rnd() & 0x7f) : rnd()));
      const valid = (() => {
        try {
          fatal.decode(b);
          return true;
        } catch {
          return false;
        }
      })();
      const at = firstInvalidUtf8(b);
      expect(at === -1).toBe(valid);
      if (at >= 0) expect(firstInvalidUtf8(b.subarray(0, at))).toBe(-1); // everything before it is valid
    }
  });
});

describe('added tokens', () => {
  const base = () =>
    JSON.parse(stringifyHfJson(trainBpe(['was as it was said, as it was'], { vocabSize: 270, specialTokens: ['<pad>'] }))) as {
      added_tokens: { id: number; content: string }[];
      model: { vocab: Record<string, number> };
    };

  it('refuse an id the vocabulary gives to another token, naming both', () => {
    const j = base();
    const w = j.model.vocab['w']!;
    j.added_tokens[0]!.id = w; // <pad> takes the id of "w"
    const load = () => parseHfJson(JSON.stringify(j));
    expect(load).toThrow(TokenizerFormatError);
    expect(load).toThrow(
      `added_tokens: added token "<pad>" has id ${w}, which the vocabulary already gives to "w"; give the added token an id of its own`,
    );
  });

  it('accept an added token whose vocabulary entry is the same token (as HF writes them)', () => {
    const j = base();
    const pad = j.added_tokens[0]!;
    expect(j.model.vocab[pad.content]).toBe(pad.id);
    const tok = parseHfJson(JSON.stringify(j));
    expect(tok.decode(tok.encode('was as'))).toBe('was as');
    expect(tok.decode([pad.id])).toBe('<pad>');
  });
});
