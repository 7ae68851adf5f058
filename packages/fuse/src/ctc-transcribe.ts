/**
 * Text from a CTC head, the one place both apps (the CLI's `zipper transcribe` / `zipper eval asr`
 * and the web page) turn source rows into transcripts: greedily (ctcGreedy -> ctcText), or with a
 * lexicon by the lexicon search (ctcLogProbs -> ctcLexiconBeam; a byte-label head only).
 *
 *   ctcTranscripts(zipper, [[bos, ...units, eos]], decodeTokens);                 // greedy
 *   ctcTranscripts(zipper, rows, decodeTokens, { lexicon: ByteLexicon.of(lm) });  // lexicon search
 */
import { ConfigError } from '@zipper/core';
import type { CtcHeadSpec } from './config.js';
import { CTC_BYTE_CLASSES, ctcGreedy, ctcLogProbs, ctcText } from './ctc-decode.js';
import { ctcLexiconBeam, type ByteLexicon, type LexiconBeamOptions } from './ctc-lexicon.js';
import type { Zipper } from './zipper.js';

export interface CtcTranscriptOptions {
  /** The head (default the model's first). */
  readonly head?: CtcHeadSpec;
  /** Search the words of this lexicon instead of decoding greedily. */
  readonly lexicon?: ByteLexicon;
  /** The lexicon search's settings (its dev-chosen defaults otherwise). */
  readonly search?: LexiconBeamOptions;
}

export interface CtcTranscript {
  readonly text: string;
  /** Labels emitted (greedy) or words spelled (lexicon). */
  readonly count: number;
}

/**
 * Per row of `inputs` (the head's source ids, bos and eos included), its transcript.
 * `decodeTokens` is the text of a head over tokens (its tower's tokenizer). A lexicon with a head
 * over tokens is a ConfigError: the search spells bytes.
 */
export function ctcTranscripts(
  zipper: Zipper,
  inputs: readonly (readonly number[])[],
  decodeTokens: (ids: number[]) => string,
  o: CtcTranscriptOptions = {},
): CtcTranscript[] {
  const head = o.head ?? zipper.config.ctc[0];
  if (!head) throw new ConfigError('this zipped model has no CTC head (config.ctc); decode with generateZipped');
  if (!o.lexicon)
    return ctcGreedy(zipper, inputs, head).map((labels) => ({ text: ctcText(head, labels, decodeTokens), count: labels.length }));
  if (head.labels?.classes !== CTC_BYTE_CLASSES)
    throw new ConfigError(
      `lexicon decoding spells UTF-8 bytes, but the CTC head ${head.to} <- ${head.from} predicts ${head.labels ? `${head.labels.classes} labels` : 'tokens'}; train it with zipper fuse train --ctc-labels bytes`,
    );
  const { rows, classes } = ctcLogProbs(zipper, inputs, head);
  return rows.map((row) => {
    const best = ctcLexiconBeam(row, classes, o.lexicon!, o.search)[0];
    return { text: best?.text ?? '', count: best?.words.length ?? 0 };
  });
}
