/**
 * Transcript normalization applied to references and hypotheses before scoring.
 *
 * 1. Unicode NFKC (compatibility forms folded: `ﬁ` -> `fi`, full-width letters -> ASCII).
 * 2. Lowercase (`toLowerCase`, locale-independent).
 * 3. Curly apostrophes (U+2018, U+2019, U+02BC) -> `'`.
 * 4. Every character that is not a letter, a digit (Unicode classes L, M, N) or an apostrophe
 *    becomes a space; an apostrophe survives only between two letters or digits (`don't`).
 * 5. Whitespace collapsed; leading and trailing whitespace removed.
 *
 * Words are the space-separated tokens of the result; characters (for CER) are its code points
 * with spaces removed. Letters outside ASCII are kept (`café` and `cafe` are different words).
 * The data builder's sentences (docs/data.md) are already in this form, so they are unchanged.
 */

const APOSTROPHES = /[\u2018\u2019\u02bc]/g;
const NOT_WORD = /[^\p{L}\p{M}\p{N}']+/gu;
const LONE_APOSTROPHE = /(?<![\p{L}\p{M}\p{N}])'|'(?![\p{L}\p{M}\p{N}])/gu;

export function normalizeTranscript(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(APOSTROPHES, "'")
    .replace(NOT_WORD, ' ')
    .replace(LONE_APOSTROPHE, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The words of a normalized transcript. */
export function words(text: string): string[] {
  const n = normalizeTranscript(text);
  return n === '' ? [] : n.split(' ');
}

/** The characters (code points, spaces removed) of a normalized transcript. */
export function characters(text: string): string[] {
  return [...normalizeTranscript(text).replace(/ /g, '')];
}
