/** Shared fixtures of the text tokenizer tests: a fortunes corpus and the HF `tokenizers` package. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as HF from 'tokenizers';
import { requireFile } from '../../../tools/setup/system.mjs';

/** HF tokenizers (native Rust, CommonJS), the reference implementation. */
export const hf = createRequire(import.meta.url)('tokenizers') as typeof HF;

const FORTUNES = '/usr/share/games/fortunes';

/** Lines (each with its "\n") of the Debian `fortunes` / `fortunes-min` files named, in order. */
export function fortuneLines(files: readonly string[], maxLines = Infinity): string[] {
  const text = files.map((f) => readFileSync(requireFile(`${FORTUNES}/${f}`, 'fortunes fortunes-min'), 'utf8')).join('');
  return text.split(/(?<=\n)/).slice(0, maxLines);
}

/** A tokenizer.json for HF's default BpeTrainer with a ByteLevel pre-tokenizer and decoder. */
export function emptyHfByteLevelBpe(): string {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: {},
      merges: [],
    },
  });
}

/**
 * Ranges of common scripts, digits, odd spaces and emoji: random full-Unicode strings are mostly
 * unassigned or rare code points, so the parity tests also draw from these.
 */
export const SCRIPT_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x7f],
  [0x80, 0xff],
  [0x100, 0x17f],
  [0x300, 0x36f],
  [0x391, 0x3c9],
  [0x400, 0x44f],
  [0x5d0, 0x5ea],
  [0x660, 0x669],
  [0x905, 0x939],
  [0x1680, 0x1680],
  [0x2000, 0x200d],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x20ac, 0x20ac],
  [0x2190, 0x21ff],
  [0x3000, 0x3003],
  [0x3041, 0x3096],
  [0x4e00, 0x9fa5],
  [0xac00, 0xd7a3],
  [0xfeff, 0xfeff],
  [0xff10, 0xff5a],
  [0x1f600, 0x1f64f],
  [0x1f300, 0x1f5ff],
  [0x1d400, 0x1d4ff],
];
