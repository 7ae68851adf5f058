import { pluralizeSpelled, spellDigits, spellNumber, spellOrdinal } from './numbers.js';

/**
 * The text normalization rule (documented in docs/data.md). A raw sentence becomes a line of
 * lowercase words over [a-z'] separated by single spaces, or is rejected (null):
 *
 *  1. Unicode NFKD, combining marks dropped ("café" -> "cafe"); curly quotes become ' and ".
 *  2. Rejected if it looks like code or art: contains any of  @ # $ < > { } [ ] | \ _ = ~ ^ * /
 *     or a character outside printable ASCII after step 1.
 *  3. Symbols and numbers spelled out: "&" -> "and", "%" -> "percent", "3rd" -> "third",
 *     "1,000" -> "one thousand", "2.5" -> "two point five", years 1100..1999 and 2010..2099 in
 *     pairs ("1611" -> "sixteen eleven", "1900" -> "nineteen hundred", "2024" -> "twenty
 *     twenty four"), decades "1970s" -> "nineteen seventies", other numbers as cardinals
 *     ("250" -> "two hundred fifty"; leading-zero strings like "007" digit by digit).
 *  4. Lowercased; every character other than a-z and ' becomes a space (punctuation, hyphens).
 *  5. An apostrophe survives only between two letters ("don't", "o'clock"); quotes are dropped.
 *  6. Whitespace collapsed and trimmed.
 *  7. Length bounds: MIN_WORDS..MAX_WORDS words, at most MAX_CHARS characters, no word longer
 *     than MAX_WORD letters; otherwise rejected.
 */
export const NORMALIZATION = { minWords: 3, maxWords: 24, maxChars: 160, maxWord: 20 } as const;

/** Step 2's characters: a sentence holding any of them is rejected (`zipper speak` drops them instead). */
export const REJECTED_CHARACTERS = /[@#$<>{}[\]|\\_=~^*/]|[^\x20-\x7e]/;

/** Step 1: Unicode NFKD with combining marks dropped, curly quotes and dashes made ASCII (whitespace collapsed). */
export function foldToAscii(raw: string): string {
  const s = raw.replace(/\s+/g, ' ');
  if (!/[^\x00-\x7f]/.test(s)) return s;
  return s
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, ' - ');
}

/** Steps 3-6 on text that passed step 2: symbols and numbers spelled out, lowercase words over [a-z'], single spaces. */
export function spellOutWords(folded: string): string {
  let s = folded;
  if (/[&%]/.test(s)) s = s.replace(/&/g, ' and ').replace(/%/g, ' percent ');
  if (/\d/.test(s)) {
    s = s
      .replace(/\b(\d+)(st|nd|rd|th)\b/gi, (_, d: string) => ` ${spellOrdinal(d)} `)
      .replace(/\b\d{1,3}(?:,\d{3})+\b/g, (m) => m.replace(/,/g, ''))
      .replace(/\b(\d+)\.(\d+)\b/g, (_, a: string, b: string) => ` ${spellDigits(a)} point ${[...b].map((d) => spellDigits(d)).join(' ')} `)
      .replace(/\b(\d+)'?s\b/g, (_, d: string) => ` ${pluralizeSpelled(spellNumber(d))} `)
      .replace(/\d+/g, (d) => ` ${spellNumber(d)} `);
  }
  s = s.toLowerCase().replace(/[^a-z']/g, ' ');
  if (s.includes("'")) s = s.replace(/'+/g, "'").replace(/(^|[^a-z])'|'(?=[^a-z]|$)/g, '$1 ');
  return s.replace(/ +/g, ' ').trim();
}

/** Steps 1-6 without the length bounds: lowercase words over [a-z'] separated by single spaces, or null (step 2). */
export function normalizeWords(raw: string): string | null {
  const folded = foldToAscii(raw);
  return REJECTED_CHARACTERS.test(folded) ? null : spellOutWords(folded);
}

export function normalizeSentence(raw: string): string | null {
  const s = normalizeWords(raw);
  if (s === null) return null;
  const words = s.split(' ');
  const { minWords, maxWords, maxChars, maxWord } = NORMALIZATION;
  if (s.length === 0 || words.length < minWords || words.length > maxWords || s.length > maxChars) return null;
  if (words.some((w) => w.length > maxWord)) return null;
  return s;
}

/**
 * Splits running text into sentences at . ! ? (optionally followed by closing quotes or
 * brackets) when the next sentence starts with a capital letter, a digit or an opening quote.
 */
export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?]["')\]]*)\s+(?=["'(]?[A-Z0-9])/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
