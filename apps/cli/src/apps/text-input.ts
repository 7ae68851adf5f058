/**
 * Text for `zipper speak`, made like the text the towers were trained on (the data builder's
 * rule, docs/data.md): Unicode folded to ASCII, numbers and & % spelled out, lowercase words over
 * [a-z'] with single spaces. Where the builder rejects a sentence (characters such as @ # < > or
 * any non-ASCII letter left after folding), speak drops those characters and says which. Long
 * text is split into sentences (after . ! ? ; and at line breaks), and a sentence longer than the
 * training sentences (24 words) into near-equal parts, each decoded alone.
 */
import { UsageError } from '../command.js';
import { foldToAscii, NORMALIZATION, REJECTED_CHARACTERS, spellOutWords } from '../data/normalize.js';

/** Characters of one text (one --in line) at most: about a minute of speech. */
export const MAX_TEXT_CHARS = 1000;
/** Lines of an --in file at most (one WAV each). */
export const MAX_TEXT_LINES = 1000;
/** Words per decoded chunk at most: the longest sentences of the training data. */
export const MAX_CHUNK_WORDS = NORMALIZATION.maxWords;

export interface SpeechText {
  /** The normalized chunks, in order, each decoded alone. */
  readonly chunks: readonly string[];
  /** Characters dropped because the model never saw them (unique, in order of appearance). */
  readonly dropped: readonly string[];
}

const ALL_REJECTED = new RegExp(REJECTED_CHARACTERS.source, 'gu');

/** Sentences of typed text: split after . ! ? ; (and closing quotes or brackets) before any next word, whatever its case. */
function sentencesOf(raw: string): string[] {
  return raw
    .split(/(?<=[.!?;]["')\]]*)\s+|\n+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/** `words` in parts of at most `max` words, as equal as possible. */
function splitWords(words: readonly string[], max: number): string[] {
  const parts = Math.ceil(words.length / max);
  const out: string[] = [];
  for (let p = 0, at = 0; p < parts; p++) {
    const n = Math.floor(words.length / parts) + (p < words.length % parts ? 1 : 0);
    out.push(words.slice(at, at + n).join(' '));
    at += n;
  }
  return out;
}

/** Normalizes and chunks `raw` (`what` names it in errors, e.g. `line 3 of in.txt`). */
export function speechText(raw: string, what = 'the text'): SpeechText {
  if (raw.length > MAX_TEXT_CHARS)
    throw new UsageError(
      `${what} has ${raw.length} characters, above the limit of ${MAX_TEXT_CHARS} (about a minute of speech); split it into lines of a file and pass --in FILE.txt --out DIR (one WAV per line)`,
    );
  const dropped = new Set<string>();
  const chunks: string[] = [];
  for (const sentence of sentencesOf(raw)) {
    const kept = foldToAscii(sentence).replace(ALL_REJECTED, (c) => (dropped.add(c), ' '));
    const words = spellOutWords(kept).split(' ').filter(Boolean);
    if (words.length > 0) chunks.push(...splitWords(words, MAX_CHUNK_WORDS));
  }
  if (chunks.length === 0)
    throw new UsageError(
      `${what} holds no word to speak${dropped.size > 0 ? ` (dropped ${describeDropped([...dropped])})` : ''}; give English words (letters a-z, digits, ' and punctuation)`,
    );
  return { chunks, dropped: [...dropped] };
}

/** `"@", "é" (U+00E9)`: each dropped character quoted, with its code point when it is not plain ASCII. */
export function describeDropped(chars: readonly string[]): string {
  return chars
    .map((c) => {
      const cp = c.codePointAt(0)!;
      return cp >= 0x21 && cp < 0x7f ? JSON.stringify(c) : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    })
    .join(', ');
}

/** The lines of an --in file: numbered from 1, blank lines skipped; refuses more than MAX_TEXT_LINES. */
export function textLines(content: string, file: string): { line: number; text: SpeechText }[] {
  const lines = content.split(/\r?\n/);
  const out: { line: number; text: SpeechText }[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    if (out.length >= MAX_TEXT_LINES)
      throw new UsageError(`${file} has more than ${MAX_TEXT_LINES} non-blank lines; split it into several files`);
    out.push({ line: i + 1, text: speechText(l, `line ${i + 1} of ${file}`) });
  });
  if (out.length === 0) throw new UsageError(`${file} has no non-blank line to speak`);
  return out;
}
