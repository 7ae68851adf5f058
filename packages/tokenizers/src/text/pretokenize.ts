/**
 * The ByteLevel pre-tokenizer's split: GPT-2's regex, as HF tokenizers runs it with Oniguruma.
 *
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 *
 * The classes \p{L}, \p{N} and \s are spelled out from tables probed from HF itself
 * (unicode-classes.ts): V8's own classes differ (its `\s` has U+FEFF and lacks U+0085, and its
 * Unicode version follows Node's ICU, which can be newer than Oniguruma's). So splits equal HF's
 * on every code point, on any Node version.
 */
import { scanPreTokens } from './scan.js';
import { LETTER_RANGES, NUMBER_RANGES, SPACE_RANGES } from './unicode-classes.js';

/** Hex ranges `41-5a,61` -> regex class body `\u{41}-\u{5a}\u{61}`. */
const classBody = (ranges: string): string =>
  ranges
    .split(',')
    .map((r) =>
      r
        .split('-')
        .map((h) => `\\u{${h}}`)
        .join('-'),
    )
    .join('');

const L = classBody(LETTER_RANGES);
const N = classBody(NUMBER_RANGES);
const WS = classBody(SPACE_RANGES);

/** GPT-2 pre-tokenization pattern with HF's (Oniguruma's) character classes. */
export const GPT2_PATTERN = `'s|'t|'re|'ve|'m|'ll|'d| ?[${L}]+| ?[${N}]+| ?[^${WS}${L}${N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

const GPT2_RE = new RegExp(GPT2_PATTERN, 'gu');

/**
 * Splits `text` into pre-tokens (HF `SplitDelimiterBehavior::Isolated`: matches and the gaps
 * between them, empty pieces dropped). With `addPrefixSpace`, a space is prepended unless the text
 * already starts with one; with `useRegex: false`, the whole text is one pre-token.
 * Runs the hand-written scanner (scan.ts), which splits exactly as `GPT2_PATTERN` does.
 */
export function preTokenize(text: string, addPrefixSpace: boolean, useRegex: boolean): string[] {
  if (addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
  if (text.length === 0) return [];
  if (!useRegex) return [text];
  const out: string[] = [];
  scanPreTokens(text, (start, end) => out.push(text.slice(start, end)));
  return out;
}

/** Same split as preTokenize(text, false, true), with the regex itself (the scanner's reference). */
export function preTokenizeWithRegex(text: string): string[] {
  const out: string[] = [];
  const re = GPT2_RE;
  re.lastIndex = 0;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
