/**
 * The ways a zipped model turns speech into text, the one place the apps (the CLI's
 * `zipper transcribe` / `zipper eval asr` and the web page) learn which a model offers and which
 * one `auto` takes:
 *
 * - `lexicon`: the CTC head's lexicon beam search with a word LM (ctcTranscripts with a lexicon;
 *   a head over UTF-8 bytes only);
 * - `ctc`: greedy decoding of the CTC head (ctcTranscripts);
 * - `attention`: the paper's decoder, the `to` tower reading the speech through the
 *   cross-attention (generateZipped); every zipped model has it;
 * - `joint`: joint CTC/attention beam search (ctcAttentionBeam).
 *
 * `auto` takes the first the model offers of lexicon, ctc, attention: their order by dev WER on
 * the shipped model (docs/zipper.md). `joint` is never taken by `auto`: on dev it was worse than
 * the head alone and it is the slowest.
 *
 *   const offer = { head: asrHead(zipper.config), lexicon: wordLm !== undefined };
 *   asrDecoders(offer);                       // e.g. ['lexicon', 'ctc', 'attention', 'joint']
 *   resolveAsrDecoder('auto', offer, where);  // 'lexicon'
 */
import { ConfigError } from '@zipper/core';
import { CTC_BYTE_CLASSES, type CtcHeadSpec, type ZipperConfig } from './config.js';

export type AsrDecoder = 'lexicon' | 'ctc' | 'attention' | 'joint';

/** Every decoder, in `auto`'s order of preference (joint, never automatic, last). */
export const ASR_DECODERS: readonly AsrDecoder[] = ['lexicon', 'ctc', 'attention', 'joint'];

/** What a model brings to speech -> text decoding. */
export interface AsrDecoderOffer {
  /** Its CTC head from the speech tower to the text tower (asrHead), if it has one. */
  readonly head?: CtcHeadSpec | undefined;
  /** Whether a word LM is at hand for `lexicon` (the text tower package's, or one the user gave). */
  readonly lexicon: boolean;
}

/** The CTC head of `config` reading `from` and writing `to` (default speech -> text), if it has one. */
export function asrHead(config: Pick<ZipperConfig, 'ctc'>, from = 'speech', to = 'text'): CtcHeadSpec | undefined {
  return config.ctc.find((h) => h.from === from && h.to === to);
}

/** Whether lexicon decoding can search `head`'s output: a head over UTF-8 bytes (what the search spells). */
export function canSearchLexicon(head: CtcHeadSpec | undefined): boolean {
  return head?.labels?.classes === CTC_BYTE_CLASSES;
}

/** The decoders `offer` allows, `auto`'s choice first. */
export function asrDecoders(offer: AsrDecoderOffer): AsrDecoder[] {
  return ASR_DECODERS.filter((d) => whyNot(d, offer, '') === undefined);
}

/**
 * `decoder` made concrete for a model (`where` names it in messages): `auto` becomes the first of
 * `asrDecoders(offer)`; any other is checked against the offer. A ConfigError says why a decoder
 * is unavailable and what gives it.
 */
export function resolveAsrDecoder(decoder: AsrDecoder | 'auto', offer: AsrDecoderOffer, where: string): AsrDecoder {
  if (decoder === 'auto') return asrDecoders(offer)[0]!;
  if (!ASR_DECODERS.includes(decoder))
    throw new ConfigError(`unknown decoder ${JSON.stringify(decoder)}; one of auto, ${ASR_DECODERS.join(', ')}`);
  const why = whyNot(decoder, offer, where);
  if (why !== undefined) throw new ConfigError(why);
  return decoder;
}

/** Why `offer` cannot decode with `d`, or undefined when it can. */
function whyNot(d: AsrDecoder, offer: AsrDecoderOffer, where: string): string | undefined {
  if (d === 'attention') return undefined;
  if (!offer.head)
    return `${where} has no CTC head from speech to text (train one with zipper fuse train --ctc-weight X), so it has no ${d} decoder; decode with attention`;
  if (d !== 'lexicon') return undefined;
  if (!canSearchLexicon(offer.head))
    return `${where}'s CTC head predicts text tokens, not bytes, and lexicon decoding spells bytes (train with zipper fuse train --ctc-labels bytes); decode with ctc`;
  if (!offer.lexicon)
    return `${where}'s text tower package ships no word LM for lexicon decoding; build one with zipper lm build --text CORPUS.txt --out LM.safetensors and give it (the CLI's --lm), or decode with ctc`;
  return undefined;
}
