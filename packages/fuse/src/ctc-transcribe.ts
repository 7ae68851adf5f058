/**
 * Text from a CTC head, the one place both apps (the CLI's `zipper transcribe` / `zipper eval asr`
 * and the web page) turn source rows into transcripts: greedily (ctcGreedy -> ctcText), or with a
 * lexicon by the lexicon search (ctcLogProbs -> ctcLexiconBeam; a byte-label head only), and then,
 * with `rescore`, the search's n best re-ranked by the zipped model's own decoder: each
 * hypothesis's first-pass score plus `weight` x ln p_att(its tokens, eos | the source), the head's
 * `to` tower reading the source segment through the cross-attention (targetLogProbsAfter: the source runs once per row; two-pass
 * decoding as in Sainath et al. 2019, "Two-pass end-to-end speech recognition"; not in the paper).
 *
 *   ctcTranscripts(zipper, [[bos, ...units, eos]], decodeTokens);                 // greedy
 *   ctcTranscripts(zipper, rows, decodeTokens, { lexicon: ByteLexicon.of(lm) });  // lexicon search
 *   ctcTranscripts(zipper, rows, decodeTokens, { lexicon, rescore: { weight: 0.5, encode } });  // + the zipped decoder
 */
import { ConfigError } from '@zipper/core';
import { CTC_BYTE_CLASSES, towerSpec, type CtcHeadSpec } from './config.js';
import { ctcGreedy, ctcLogProbs, ctcText } from './ctc-decode.js';
import { ctcLexiconBeam, resolveLexiconBeamOptions, withCarriedSearch, type ByteLexicon, type LexiconBeamOptions } from './ctc-lexicon.js';
import { wrapSegment } from './segments.js';
import { targetLogProbsAfter } from './target-log-probs.js';
import type { Zipper } from './zipper.js';

export interface CtcTranscriptOptions {
  /** The head (default the model's first). */
  readonly head?: CtcHeadSpec;
  /** Search the words of this lexicon instead of decoding greedily. */
  readonly lexicon?: ByteLexicon;
  /** The lexicon search's settings, over the ones the head carries (`CtcHeadSpec.search`), over the search's defaults. */
  readonly search?: LexiconBeamOptions;
  /** Re-rank the lexicon search's n best with the zipped decoder (needs `lexicon`). */
  readonly rescore?: RescoreOptions;
}

export interface RescoreOptions {
  /** Weight of ln p_att, >= 0 (0: the search's own ranking). */
  readonly weight: number;
  /** Hypotheses re-ranked per row (default 8; replaces `search.nBest`). */
  readonly nBest?: number;
  /** Text -> ids of the head's `to` tower, without bos/eos (its tokenizer). */
  readonly encode: (text: string) => ArrayLike<number>;
}

export interface CtcTranscript {
  readonly text: string;
  /** Labels emitted (greedy) or words spelled (lexicon). */
  readonly count: number;
  /** With `rescore`: the search's n best in its own order (the first is its transcript without rescoring). */
  readonly candidates?: readonly string[];
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
  if (o.rescore && !o.lexicon) throw new ConfigError("rescore needs a lexicon: it re-ranks the lexicon search's n best");
  if (!o.lexicon)
    return ctcGreedy(zipper, inputs, head).map((labels) => ({ text: ctcText(head, labels, decodeTokens), count: labels.length }));
  if (head.labels?.classes !== CTC_BYTE_CLASSES)
    throw new ConfigError(
      `lexicon decoding spells UTF-8 bytes, but the CTC head ${head.to} <- ${head.from} predicts ${head.labels ? `${head.labels.classes} labels` : 'tokens'}; train it with zipper fuse train --ctc-labels bytes`,
    );
  const search = withCarriedSearch(head.search, o.search);
  const { rows, classes } = ctcLogProbs(zipper, inputs, head);
  const r = o.rescore;
  if (!r) {
    return rows.map((row) => {
      const best = ctcLexiconBeam(row, classes, o.lexicon!, search)[0];
      return { text: best?.text ?? '', count: best?.words.length ?? 0 };
    });
  }
  const nBest = r.nBest ?? 8;
  if (!(r.weight >= 0) || !Number.isFinite(r.weight)) throw new ConfigError(`rescore weight must be a finite number >= 0, got ${r.weight}`);
  if (!Number.isInteger(nBest) || nBest < 1) throw new ConfigError(`rescore nBest must be an integer >= 1, got ${nBest}`);
  const target = towerSpec(zipper.config, head.to);
  const { beam } = resolveLexiconBeamOptions(search);
  return rows.map((row, i) => {
    const hyps = ctcLexiconBeam(row, classes, o.lexicon!, { ...search, nBest: Math.min(nBest, beam) });
    if (hyps.length === 0) return { text: '', count: 0, candidates: [] };
    const candidates = hyps.map((h) => h.text);
    const ids = hyps.map((h) => Array.from(r.encode(h.text)));
    // a hypothesis longer than the decoder's context cannot be scored: the row keeps the search's ranking
    if (hyps.length === 1 || r.weight === 0 || ids.some((x) => x.length + 2 > target.config.maxSeqLen))
      return { text: hyps[0]!.text, count: hyps[0]!.words.length, candidates };
    const source = { tower: head.from, ids: inputs[i]! };
    const att = targetLogProbsAfter(
      zipper,
      [source],
      ids.map((x) => wrapSegment(zipper.config, head.to, x)),
    );
    let best = 0;
    hyps.forEach((h, k) => {
      if (h.score + r.weight * att[k]! > hyps[best]!.score + r.weight * att[best]!) best = k;
    });
    return { text: hyps[best]!.text, count: hyps[best]!.words.length, candidates };
  });
}
