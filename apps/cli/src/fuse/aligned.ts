/**
 * The aligned data of a fused run, from a data build (`@zipper/data`):
 *
 * - ASR examples `[speech][text]` (target text) read the aligned-asr audio (the seen voices other
 *   than the TTS voice); TTS examples `[text][speech]` (target speech) read the aligned-tts audio
 *   (the TTS voice). Both manifests hold the same sentences in the same order, so pair i is one
 *   sentence in two renderings (checked).
 * - `--asr-audio ...,noisy` adds ASR examples read from aligned-noisy (the aligned-asr audio again
 *   with tempo changes and additive noise; a data build made with --noisy), pair i's third rendering.
 * - `--fraction 0.01|0.1|1` picks the nested 1% / 10% / 100% subset.
 * - Text goes through the text tower's BPE, audio through the speech tower's own speech tokenizer
 *   (units cached on disk by `SpeechUnitEncoder`, DATA/.cache/units).
 * - Held out (dev split): ASR on every dev utterance, TTS on the dev utterances in the TTS voice
 *   (all of them when there are none, said in the log).
 * - A pair whose segment would not fit a tower (`<bos> ids <eos>` longer than its maxSeqLen; for
 *   the single decoder as well, so both models see the same pairs, and both segments must fit its
 *   one stream) is dropped and counted.
 */
import { MissingSplitError, type AlignedFraction } from '@zipper/data';
import type { DataDir } from '@zipper/data/node';
import { SpeechUnitEncoder } from '@zipper/data/node';
import type { AlignedItem } from '@zipper/fuse';
import type { BpeTokenizer, SpeechTokenizer } from '@zipper/tokenizers';
import { UsageError } from '../command.js';
import type { AsrAudio } from './run-file.js';

/** --fraction value -> percent of the aligned pool. */
export const FRACTIONS: Readonly<Record<string, AlignedFraction>> = { '0.01': 1, '0.1': 10, '1': 100 };

export function parseFraction(v: string | undefined): AlignedFraction {
  if (v === undefined) throw new UsageError('--fraction 0.01|0.1|1 is required (the nested 1% / 10% / 100% subset of the aligned pairs)');
  const f = FRACTIONS[String(Number(v))];
  if (f === undefined || v.trim() === '')
    throw new UsageError(`--fraction must be 0.01, 0.1 or 1 (the nested 1% / 10% / 100% subsets of the aligned pairs), got "${v}"`);
  return f;
}

/**
 * Which pairs a run keeps: each segment must fit its tower (`<bos> ids <eos>` <= maxSeqLen), for
 * the single decoder too, so that both models train on the same examples; the single decoder's
 * one stream must also hold both segments (`total`).
 */
export interface LengthLimit {
  readonly text: number;
  readonly speech: number;
  readonly total?: number;
}

export interface AlignedData {
  /** Per pair: the text and the ASR audio's units (content ids, no bos/eos). */
  readonly asr: AlignedItem[];
  /** Per pair: the text and the TTS audio's units. */
  readonly tts: AlignedItem[];
  /** Per pair: the text and the noisy audio's units (only when asked for; aligned-noisy). */
  readonly noisy?: AlignedItem[];
  readonly devAsr: AlignedItem[];
  readonly devTts: AlignedItem[];
  /** dev-noisy (dev again with tempo and noise) for a second ASR held-out set (only with the noisy renderings). */
  readonly devNoisy?: AlignedItem[];
  readonly counts: {
    readonly pairs: number;
    readonly kept: number;
    readonly dropped: number;
    readonly textTokens: number;
    readonly asrUnits: number;
    readonly ttsUnits: number;
    /** Units of the noisy renderings (only with them). */
    readonly noisyUnits?: number;
    readonly devAsr: number;
    readonly devTts: number;
    /** Held-out utterances too long for the towers: dev's and, with the noisy renderings, dev-noisy's. */
    readonly devDropped: number;
    /** dev-noisy utterances kept (only with the noisy renderings). */
    readonly devNoisy?: number;
    readonly ttsVoice: string;
  };
}

/**
 * `--cross-rope` rates from the training pairs: text <- speech reads `r` speech positions per text
 * position (all ASR segments' positions, bos and eos included, over all text segments'), speech
 * <- text reads 1 / r.
 */
export function crossRopeRates(aligned: AlignedData): { to: string; from: string; rate: number }[] {
  let text = 0;
  let speech = 0;
  for (const it of aligned.asr) {
    text += (it['text']?.length ?? 0) + 2;
    speech += (it['speech']?.length ?? 0) + 2;
  }
  const r = speech / text;
  return [
    { to: 'text', from: 'speech', rate: r },
    { to: 'speech', from: 'text', rate: 1 / r },
  ];
}

/**
 * `--cross-rope-bytes`: the speech <- text links count the text's positions by its bytes
 * (config.crossRope `sourceWeights`): a token weighs its bytes times c, and a token without bytes
 * (bos, eos, other specials) 1, with c such that the ASR segments' text positions (bos and eos
 * included) weigh as many as they are, so that `crossRopeRates`' 1 / r keeps its meaning on
 * average. Weights rounded to 6 decimals (they are written into zipper.json).
 */
export function crossRopeByteWeights(aligned: Pick<AlignedData, 'asr'>, tokenBytes: readonly (readonly number[])[]): number[] {
  const bytes = tokenBytes.map((b) => b.length);
  // bos, eos and byte-less tokens weigh 1 each, so the rest must weigh as many as they are
  let plain = 0;
  let total = 0;
  for (const it of aligned.asr) {
    for (const id of it['text'] ?? []) {
      const n = bytes[id] ?? 0;
      if (n > 0) {
        plain++;
        total += n;
      }
    }
  }
  if (total === 0) throw new UsageError('--cross-rope-bytes: the training pairs hold no text bytes to count');
  const c = plain / total;
  return bytes.map((n) => (n === 0 ? 1 : Math.round(n * c * 1e6) / 1e6));
}

function fits(limit: LengthLimit, text: number, speech: number): boolean {
  return text + 2 <= limit.text && speech + 2 <= limit.speech && (limit.total === undefined || text + speech + 4 <= limit.total);
}

/** The ASR examples `asrAudio` names, pair after pair for each rendering in turn (aligned-asr, then aligned-tts, then aligned-noisy). */
export function asrSources(asrAudio: AsrAudio, aligned: Pick<AlignedData, 'asr' | 'tts' | 'noisy'>): AlignedItem[] {
  const parts = asrAudio.split(',');
  if (parts.includes('noisy') && !aligned.noisy)
    throw new UsageError(`--asr-audio ${asrAudio} needs the noisy renderings; prepareAligned was not asked for them`);
  return [...aligned.asr, ...(parts.includes('tts') ? aligned.tts : []), ...(parts.includes('noisy') ? aligned.noisy! : [])];
}

export function prepareAligned(
  data: DataDir,
  pct: AlignedFraction,
  text: BpeTokenizer,
  speech: SpeechTokenizer,
  limit: LengthLimit,
  log: (s: string) => void,
  options: { readonly noisy?: boolean } = {},
): AlignedData {
  const asrRecords = data.records('aligned-asr', pct);
  const ttsRecords = data.records('aligned-tts', pct);
  const sameSentences = (name: string, records: readonly { readonly text: string }[]) => {
    if (asrRecords.length !== records.length || asrRecords.some((r, i) => r.text !== records[i]!.text)) {
      throw new UsageError(
        `${data.dir}: aligned-asr.${pct}pct and ${name}.${pct}pct do not hold the same sentences in the same order; rebuild the data with zipper data build`,
      );
    }
  };
  sameSentences('aligned-tts', ttsRecords);
  let noisyRecords: ReturnType<typeof data.records<'aligned-noisy'>> | undefined;
  let devNoisyRecords: ReturnType<typeof data.records<'dev-noisy'>> | undefined;
  if (options.noisy) {
    try {
      noisyRecords = data.records('aligned-noisy', pct);
    } catch (e) {
      if (e instanceof MissingSplitError) throw new UsageError(`${e.message}; or drop noisy from --asr-audio`);
      throw e;
    }
    sameSentences('aligned-noisy', noisyRecords);
    devNoisyRecords = data.records('dev-noisy');
  }
  const t0 = performance.now();
  const encoder = new SpeechUnitEncoder(data, speech);
  const asrUnits = encoder.encodeAll(asrRecords);
  const ttsUnits = encoder.encodeAll(ttsRecords);
  const noisyUnits = noisyRecords ? encoder.encodeAll(noisyRecords) : undefined;
  const dev = data.records('dev');
  const devUnits = encoder.encodeAll(dev);
  const devNoisyUnits = devNoisyRecords ? encoder.encodeAll(devNoisyRecords) : undefined;
  const s = encoder.stats;
  log(
    `speech units: ${asrRecords.length + ttsRecords.length + (noisyRecords?.length ?? 0) + dev.length + (devNoisyRecords?.length ?? 0)} utterances, ${s.units.toLocaleString('en-US')} units (${s.featurized} featurized, ${s.cached} from ${encoder.cache?.dir}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const ids = (line: string) => Array.from(text.encode(line));
  const asr: AlignedItem[] = [];
  const tts: AlignedItem[] = [];
  const noisy: AlignedItem[] = [];
  let textTokens = 0;
  let nAsr = 0;
  let nTts = 0;
  let nNoisy = 0;
  asrRecords.forEach((r, i) => {
    const t = ids(r.text);
    const a = Array.from(asrUnits[i]!);
    const b = Array.from(ttsUnits[i]!);
    const c = noisyUnits ? Array.from(noisyUnits[i]!) : [];
    if (!fits(limit, t.length, a.length) || !fits(limit, t.length, b.length) || !fits(limit, t.length, c.length)) return;
    asr.push({ text: t, speech: a });
    tts.push({ text: t, speech: b });
    if (noisyUnits) noisy.push({ text: t, speech: c });
    textTokens += t.length;
    nAsr += a.length;
    nTts += b.length;
    nNoisy += c.length;
  });
  const pairs = asrRecords.length;
  const limitText = `the towers' maxSeqLen (text ${limit.text}, speech ${limit.speech})${limit.total === undefined ? '' : ` or the single decoder's ${limit.total}`}`;
  if (asr.length < pairs)
    log(`aligned ${pct}%: ${pairs - asr.length} of ${pairs} pairs dropped: a segment with <bos>/<eos> is longer than ${limitText}`);
  if (asr.length === 0)
    throw new UsageError(`no aligned pair of ${data.dir} (${pct}%) fits ${limitText}; use towers with a larger maxSeqLen`);

  const ttsVoice = ttsRecords[0]?.voice ?? '';
  const inVoice = dev.some((r) => r.voice === ttsVoice);
  let devDropped = 0;
  /** Held-out utterances whose segments fit the towers, with their voices; the others are counted in devDropped. */
  const fitting = (records: readonly { readonly text: string; readonly voice: string }[], units: readonly ArrayLike<number>[]) =>
    records.flatMap((r, i) => {
      const t = ids(r.text);
      const u = Array.from(units[i]!);
      if (fits(limit, t.length, u.length)) return [{ item: { text: t, speech: u } as AlignedItem, voice: r.voice }];
      devDropped++;
      return [];
    });
  const devKept = fitting(dev, devUnits);
  const devAsr = devKept.map((d) => d.item);
  const devTts = devKept.filter((d) => !inVoice || d.voice === ttsVoice).map((d) => d.item);
  const devNoisy = devNoisyRecords && devNoisyUnits ? fitting(devNoisyRecords, devNoisyUnits).map((d) => d.item) : [];
  if (!inVoice) log(`held out: no dev utterance is in the TTS voice ${ttsVoice}; the TTS held-out loss uses every dev voice`);
  log(
    `aligned ${pct}%: ${asr.length} pairs (${textTokens.toLocaleString('en-US')} text tokens, ${nAsr.toLocaleString('en-US')} ASR units, ${nTts.toLocaleString('en-US')} TTS units${noisyUnits ? `, ${nNoisy.toLocaleString('en-US')} noisy units` : ''}); held out: ${devAsr.length} dev utterances for ASR, ${devTts.length} for TTS${devNoisyRecords ? `, ${devNoisy.length} dev-noisy for ASR` : ''}${devDropped ? ` (${devDropped} too long)` : ''}`,
  );
  return {
    asr,
    tts,
    ...(noisyUnits ? { noisy } : {}),
    devAsr,
    devTts,
    ...(devNoisyRecords ? { devNoisy } : {}),
    counts: {
      pairs,
      kept: asr.length,
      dropped: pairs - asr.length,
      textTokens,
      asrUnits: nAsr,
      ttsUnits: nTts,
      ...(noisyUnits ? { noisyUnits: nNoisy } : {}),
      devAsr: devAsr.length,
      devTts: devTts.length,
      devDropped,
      ...(devNoisyRecords ? { devNoisy: devNoisy.length } : {}),
      ttsVoice,
    },
  };
}
