/**
 * What the page accepts, and the checks that turn bad input into a message (never a hang): WAV
 * uploads up to MAX_WAV_BYTES and as long as one decode of the model's speech context; text that
 * is not empty, at most MAX_TEXT_CHARS, and made of characters the text tokenizer saw in training.
 */
import { ZipperError } from '@zipper/core';
import type { BpeTokenizer } from '@zipper/tokenizers';

/** An input the page refuses; the message says what to do. */
export class InputError extends ZipperError {}

/** Largest WAV upload: 10 MiB (about 5 min of 16 kHz 16-bit mono; the model's context is far shorter). */
export const MAX_WAV_BYTES = 10 * 2 ** 20;
/** Shortest audio: 0.1 s (5 units of 20 ms; no word is shorter). */
export const MIN_AUDIO_SECONDS = 0.1;
/** Longest text typed: 1,000 characters (the model's text context refuses long text before this). */
export const MAX_TEXT_CHARS = 1000;

/** Sentence punctuation read as a pause (the training text has none); everything else must be a seen character. */
const PAUSES = /[.,!?;:"()]/g;

/**
 * The characters the tokenizer's merges are made of: a byte-level BPE has a token for every byte,
 * but merges only form from text it was trained on, so a character in no merged token was never
 * (or hardly ever) in the training text, and the model cannot say it.
 */
export function seenCharacters(tok: BpeTokenizer): Set<string> {
  const seen = new Set<string>();
  for (let id = 0; id < tok.vocabSize; id++) {
    if (tok.idToToken(id) === undefined) continue;
    const piece = tok.decode([id], { skipSpecial: true });
    if ([...piece].length >= 2) for (const c of piece) seen.add(c);
  }
  return seen;
}

/** `"@", U+00E9`: each character quoted, with its code point when it is not printable ASCII. */
export function describeCharacters(chars: readonly string[]): string {
  return chars
    .map((c) => {
      const cp = c.codePointAt(0)!;
      return cp > 0x20 && cp < 0x7f ? JSON.stringify(c) : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    })
    .join(', ');
}

/** Lowercased, punctuation read as pauses, whitespace collapsed; InputError when empty, too long or holding unseen characters. */
export function prepareText(raw: string, seen: ReadonlySet<string>): string {
  if (raw.length > MAX_TEXT_CHARS)
    throw new InputError(`the text has ${raw.length} characters, above the limit of ${MAX_TEXT_CHARS}; speak it in shorter parts`);
  const text = raw.toLowerCase().replace(PAUSES, ' ').replace(/\s+/g, ' ').trim();
  if (text === '') throw new InputError('there is no text to speak; type a sentence (English words, letters a-z)');
  const unseen = [...new Set([...text].filter((c) => c !== ' ' && !seen.has(c)))];
  if (unseen.length > 0)
    throw new InputError(
      `the model never saw ${describeCharacters(unseen)} in training (it was trained on lowercase English words: a-z and '); spell numbers and symbols out as words, or remove them`,
    );
  return text;
}
