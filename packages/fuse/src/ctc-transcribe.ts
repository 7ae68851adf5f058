/**
 * Text from a CTC head, the one place both apps (the CLI's `zipper transcribe` / `zipper eval asr`
 * and the web page) turn source rows into transcripts: greedily (ctcGreedy -> ctcText), or with a
 * lexicon by the lexicon search (ctcLogProbs -> ctcLexiconBeam; a byte-label head only), and then,
 * with a `rescoreWeight` among the search's settings (given, or carried by the head), the search's
 * `nBest` re-ranked by the zipped model's own decoder: each hypothesis's first-pass score plus
 * `rescoreWeight` x ln p_att(its tokens, eos | the source), the head's `to` tower reading the
 * source segment through the cross-attention (targetLogProbsAfter: the source runs once per row;
 * two-pass decoding as in Sainath et al. 2019, "Two-pass end-to-end speech recognition"; not in the paper).
 *
 *   ctcTranscripts(zipper, [[bos, ...units, eos]], decodeTokens);                 // greedy
 *   ctcTranscripts(zipper, rows, decodeTokens, { lexicon: ByteLexicon.of(lm), encode });  // the search (and the head's rescoring)
 *   ctcTranscripts(zipper, rows, decodeTokens, { lexicon, encode, search: { rescoreWeight: 0.3, nBest: 16 } });  // rescored
 */
import { ConfigError } from '@zipper/core';
import { CTC_BYTE_CLASSES, towerSpec, type CtcHeadSpec } from './config.js';
import { ctcGreedy, ctcLogProbs, ctcText } from './ctc-decode.js';
import {
  ctcLexiconBeam,
  DICTIONARY_WORD,
  resolveLexiconBeamOptions,
  UNKNOWN_WORD,
  withCarriedSearch,
  type ByteLexicon,
  type GivenLexiconBeamOptions,
  type LexiconHypothesis,
} from './ctc-lexicon.js';
import { wrapSegment } from './segments.js';
import { targetLogProbsAfter } from './target-log-probs.js';
import type { Zipper } from './zipper.js';

export interface CtcTranscriptOptions {
  /** The head (default the model's first). */
  readonly head?: CtcHeadSpec;
  /** Search the words of this lexicon instead of decoding greedily. */
  readonly lexicon?: ByteLexicon;
  /**
   * The lexicon search's settings, over the ones the head carries (`CtcHeadSpec.search`), over the
   * search's defaults; `rescoreWeight` > 0 adds the second pass (`rescoreWeight: 0` turns a carried one off,
   * `null` a carried optional setting; `exactSearch` of resolved settings searches with exactly them).
   */
  readonly search?: GivenLexiconBeamOptions;
  /** Text -> ids of the head's `to` tower, without bos/eos (its tokenizer): needed to rescore. */
  readonly encode?: (text: string) => ArrayLike<number>;
}

export interface CtcTranscript {
  readonly text: string;
  /** Labels emitted (greedy) or words spelled (lexicon). */
  readonly count: number;
  /** When rescored: the search's n best in its own order (the first is its transcript without rescoring). */
  readonly candidates?: readonly string[];
  /**
   * Lexicon search only: how many of its words neither the lexicon nor its dictionary holds (spelled
   * freely with `oovByteLogProb`; 0 without it). Dictionary words are not counted.
   */
  readonly unknown?: number;
  /** Lexicon search only: how many of its words are the LM's dictionary's (`dictionaryWordLogProb`; 0 without it). */
  readonly dictionary?: number;
}

/** A lexicon hypothesis as a transcript: its text, its words, the unknown ones (id -1) and the dictionary's (-2); none: empty. */
const transcriptOf = (h: LexiconHypothesis | undefined): CtcTranscript =>
  h
    ? {
        text: h.text,
        count: h.words.length,
        unknown: h.words.reduce((n, w) => n + (w === UNKNOWN_WORD ? 1 : 0), 0),
        dictionary: h.words.reduce((n, w) => n + (w === DICTIONARY_WORD ? 1 : 0), 0),
      }
    : { text: '', count: 0, unknown: 0, dictionary: 0 };

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
  if (!o.lexicon) {
    if (o.search?.rescoreWeight !== undefined && o.search.rescoreWeight > 0)
      throw new ConfigError("rescoreWeight needs a lexicon: the rescoring re-ranks the lexicon search's n best");
    return ctcGreedy(zipper, inputs, head).map((labels) => ({ text: ctcText(head, labels, decodeTokens), count: labels.length }));
  }
  if (head.labels?.classes !== CTC_BYTE_CLASSES)
    throw new ConfigError(
      `lexicon decoding spells UTF-8 bytes, but the CTC head ${head.to} <- ${head.from} predicts ${head.labels ? `${head.labels.classes} labels` : 'tokens'}; train it with zipper fuse train --ctc-labels bytes`,
    );
  const search = resolveLexiconBeamOptions(withCarriedSearch(head.search, o.search));
  const encode = o.encode;
  if (search.rescoreWeight > 0 && !encode)
    throw new ConfigError(
      `the search rescores (rescoreWeight ${search.rescoreWeight}${o.search?.rescoreWeight === undefined ? ", carried by the model's head" : ''}): give encode, the tokenizer of the ${head.to} tower, or rescoreWeight 0`,
    );
  const { rows, classes } = ctcLogProbs(zipper, inputs, head);
  if (search.rescoreWeight === 0) {
    return rows.map((row) => {
      return transcriptOf(ctcLexiconBeam(row, classes, o.lexicon!, { ...search, nBest: 1 })[0]);
    });
  }
  const weight = search.rescoreWeight;
  const target = towerSpec(zipper.config, head.to);
  return rows.map((row, i) => {
    const hyps = ctcLexiconBeam(row, classes, o.lexicon!, search);
    if (hyps.length === 0) return { ...transcriptOf(undefined), candidates: [] };
    const candidates = hyps.map((h) => h.text);
    const ids = hyps.map((h) => Array.from(encode!(h.text)));
    // a hypothesis longer than the decoder's context cannot be scored: the row keeps the search's ranking
    if (hyps.length === 1 || ids.some((x) => x.length + 2 > target.config.maxSeqLen)) return { ...transcriptOf(hyps[0]), candidates };
    const source = { tower: head.from, ids: inputs[i]! };
    const att = targetLogProbsAfter(
      zipper,
      [source],
      ids.map((x) => wrapSegment(zipper.config, head.to, x)),
    );
    let best = 0;
    hyps.forEach((h, k) => {
      if (h.score + weight * att[k]! > hyps[best]!.score + weight * att[best]!) best = k;
    });
    return { ...transcriptOf(hyps[best]), candidates };
  });
}
