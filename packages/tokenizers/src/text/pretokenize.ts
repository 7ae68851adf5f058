/**
 * The ByteLevel pre-tokenizer's split: GPT-2's regex, as HF tokenizers runs it with Oniguruma.
 *
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
 *
 * Oniguruma's Unicode `\s` is [\t-\r], U+0085 and the Zs/Zl/Zp categories; JavaScript's `\s`
 * differs (it has U+FEFF and lacks U+0085), so the class is spelled out here to split exactly as
 * HF does.
 */

const WS = String.raw`\t-\r\x85\p{Zs}\u2028\u2029`;

/** GPT-2 pre-tokenization pattern with Oniguruma's whitespace class. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

const GPT2_RE = new RegExp(GPT2_PATTERN, 'gu');

/**
 * Splits `text` into pre-tokens (HF `SplitDelimiterBehavior::Isolated`: matches and the gaps
 * between them, empty pieces dropped). With `addPrefixSpace`, a space is prepended unless the text
 * already starts with one; with `useRegex: false`, the whole text is one pre-token.
 */
export function preTokenize(text: string, addPrefixSpace: boolean, useRegex: boolean): string[] {
  if (addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
  if (text.length === 0) return [];
  if (!useRegex) return [text];
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
