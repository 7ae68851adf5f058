/**
 * Speech recognition with a zipped model: audio -> units (the speech tower's tokenizer) ->
 * `[speech]` -> text, by the decoder `resolveDecoder` picks (the CTC head's lexicon search for the
 * shipped model; the text tower for a model without a head). Audio longer than one decode is cut at pauses (audio-input.ts);
 * pieces of equal length decode together (generateZipped batches rows whose streams are equal),
 * so several files are ordered by length and decoded `batch` rows per call.
 */
import { UsageError } from '../command.js';
import type { TrainedModel } from '../fuse/trained-model.js';
import type { AppModel } from './model.js';
import { splitUnits, type AudioInput } from './audio-input.js';

export interface Transcript {
  readonly file: string;
  readonly text: string;
  /** Seconds of audio. */
  readonly seconds: number;
  readonly units: number;
  /** Pieces decoded (1 unless the audio is longer than the model's speech context). */
  readonly pieces: number;
  /** 'stop' when every piece ended with the text tower's eos, else 'length'. */
  readonly finishReason: string;
  /** The decoder that wrote it (`auto` resolved). */
  readonly decoder: Exclude<AppDecoder, 'auto'>;
}

/** How the apps decode speech: see `TranscribeOptions.decoder`. */
export type AppDecoder = 'auto' | 'attention' | 'ctc' | 'joint' | 'lexicon';

export const APP_DECODERS: readonly AppDecoder[] = ['auto', 'attention', 'ctc', 'joint', 'lexicon'];

export interface TranscribeOptions {
  /** Rows decoded together (default 8). */
  readonly batch?: number;
  /**
   * `attention`: the text tower decodes through cross-attention (the paper's decoder); `ctc`:
   * greedy decoding of the model's CTC head; `joint`: joint CTC/attention beam search (beam 4,
   * CTC weight 0.3); `lexicon`: the CTC head's lexicon beam search with the text tower package's
   * word LM (ctcLexiconBeam, its dev-chosen defaults). `auto` (default): the best the model
   * offers by docs/results.md's dev measurements: lexicon, else ctc, else attention
   * (`resolveDecoder`).
   */
  readonly decoder?: AppDecoder;
  /** A word LM file for `lexicon` (default: the text tower package's). */
  readonly lm?: string;
  /** Called after each decode call with pieces done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * `auto` made concrete for the model `m` (named `where` in messages); other decoders are checked
 * against what it has (UsageError). `zipper eval asr` checks its --decoder here too.
 */
export function resolveDecoder(m: TrainedModel, where: string, decoder: AppDecoder = 'auto', lm?: string): Exclude<AppDecoder, 'auto'> {
  if (decoder === 'auto') {
    if (!m.ctcTranscribe) return 'attention';
    return m.ctcBytes && m.lexicon(lm) ? 'lexicon' : 'ctc';
  }
  if (decoder !== 'attention' && !m.ctcTranscribe)
    throw new UsageError(`${where} has no CTC head (train it with zipper fuse train --ctc-weight X); use --decoder attention`);
  if (decoder === 'lexicon') {
    if (!m.ctcBytes)
      throw new UsageError(`${where}'s CTC head predicts text tokens, not bytes; lexicon decoding spells bytes: use --decoder ctc`);
    if (!m.lexicon(lm))
      throw new UsageError(
        `${where}'s text tower package ships no word LM; build one (zipper lm build --text CORPUS.txt --out LM.safetensors) and pass --lm LM.safetensors`,
      );
  }
  return decoder;
}

export async function transcribeAudio(app: AppModel, inputs: readonly AudioInput[], o: TranscribeOptions = {}): Promise<Transcript[]> {
  const { m } = app;
  const decoder = resolveDecoder(m, app.location, o.decoder, o.lm);
  const batch = o.batch ?? 8;
  const spu = m.speech.samplesPerUnit;
  const units = inputs.map((a) => m.speech.encode(a.samples));
  const pieces = inputs.flatMap((a, i) => splitUnits(units[i]!, a.samples, spu, app.maxUnits).map((u, k) => ({ file: i, k, u })));
  const order = pieces.map((_, j) => j).sort((a, b) => pieces[a]!.u.length - pieces[b]!.u.length || a - b);
  const texts: string[] = new Array<string>(pieces.length);
  const reasons: string[] = new Array<string>(pieces.length);
  for (let at = 0; at < order.length; at += batch) {
    const rows = order.slice(at, at + batch);
    if (decoder !== 'attention') {
      const got = m.ctcTranscribe!(
        rows.map((j) => pieces[j]!.u),
        decoder === 'joint'
          ? { joint: { beam: 4, ctcWeight: 0.3, maxNewTokens: app.maxTextTokens } }
          : decoder === 'lexicon'
            ? { lexicon: m.lexicon(o.lm)! }
            : undefined,
      );
      rows.forEach((j, r) => {
        texts[j] = got[r]!.text;
        reasons[j] = 'stop';
      });
      o.onProgress?.(Math.min(at + batch, order.length), order.length);
      continue;
    }
    const got = await m.generate(
      rows.map((j) => [m.segment('speech', pieces[j]!.u)]),
      'text',
      { temperature: 0, maxNewTokens: app.maxTextTokens },
    );
    rows.forEach((j, r) => {
      const g = got[r]!;
      texts[j] = g.output === 'text' ? g.text.trim() : '';
      reasons[j] = g.finishReason;
    });
    o.onProgress?.(Math.min(at + batch, order.length), order.length);
  }
  return inputs.map((a, i) => {
    const mine = pieces.map((p, j) => ({ p, j })).filter(({ p }) => p.file === i);
    return {
      file: a.file,
      text: mine
        .map(({ j }) => texts[j]!)
        .filter(Boolean)
        .join(' '),
      seconds: a.seconds,
      units: units[i]!.length,
      pieces: mine.length,
      finishReason: mine.every(({ j }) => reasons[j] === 'stop') ? 'stop' : 'length',
      decoder,
    };
  });
}
