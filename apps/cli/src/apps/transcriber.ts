/**
 * Speech recognition with a zipped model: audio -> units (the speech tower's tokenizer) ->
 * `[speech]` -> text, by the decoder `resolveDecoder` picks (the CTC head's lexicon search for the
 * shipped model; the text tower for a model without a head). Audio longer than one decode is cut at pauses (audio-input.ts);
 * pieces of equal length decode together (generateZipped batches rows whose streams are equal),
 * so several files are ordered by length and decoded `batch` rows per call.
 */
import {
  ASR_DECODERS,
  canSearchLexicon,
  resolveAsrDecoder,
  LEXICON_SEARCH_KEYS,
  resolveLexiconBeamOptions,
  resolveLexiconSearchSettings,
  withCarriedSearch,
  type AsrDecoder,
  type CtcTranscript,
  type GivenLexiconSearchSettings,
  type LexiconSearchSettings,
  type ResolvedLexiconBeamOptions,
} from '@zipper/fuse';
import { ConfigError } from '@zipper/core';
import { voteTranscripts } from '@zipper/eval';
import {
  AUDIO_VIEWS,
  MAX_LEVEL_RANGE_DB,
  fitLevel,
  TokenizerConfigError,
  type LevelRange,
  viewAudio,
  type AudioView,
} from '@zipper/tokenizers';
import { intArg, numArg } from '../args.js';
import { UsageError } from '../command.js';
import { searchAudio, type TrainedModel } from '../fuse/trained-model.js';
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
  readonly decoder: AsrDecoder;
  /** The lexicon search only: words of the transcript its lexicon lacks (spelled with an unknown-word cost; 0 without one). */
  readonly unknownWords?: number;
  /** The lexicon search only: words of the transcript from the word LM's dictionary (0 without a dictionary-word cost). */
  readonly dictionaryWords?: number;
  /** The lexicon search only: views of the audio whose transcripts were voted (1: the audio alone). */
  readonly views?: number;
  /** The lexicon search with a level range only: the gain in dB the audio was scaled by (`fitLevel`; 0: as recorded). */
  readonly levelDb?: number;
}

/** A lexicon transcript's counts as the apps report them (`Transcript`, `zipper eval asr`'s metrics and utterances). */
export type WordCounts = Required<Pick<Transcript, 'unknownWords' | 'dictionaryWords'>>;

/** The unknown and dictionary words of lexicon transcripts `ts` summed (undefined ones count 0). */
export function wordCounts(ts: readonly (Pick<CtcTranscript, 'unknown' | 'dictionary'> | undefined)[]): WordCounts {
  return {
    unknownWords: ts.reduce((n, t) => n + (t?.unknown ?? 0), 0),
    dictionaryWords: ts.reduce((n, t) => n + (t?.dictionary ?? 0), 0),
  };
}

/** How the apps decode speech: see `TranscribeOptions.decoder`. */
export type AppDecoder = AsrDecoder | 'auto';

export const APP_DECODERS: readonly AppDecoder[] = ['auto', ...ASR_DECODERS];

export interface TranscribeOptions {
  /** Rows decoded together (default 8). */
  readonly batch?: number;
  /**
   * `attention`: the text tower decodes through cross-attention (the paper's decoder); `ctc`:
   * greedy decoding of the model's CTC head; `joint`: joint CTC/attention beam search (beam 4,
   * CTC weight 0.3); `lexicon`: the CTC head's lexicon beam search with the text tower package's
   * word LM (ctcLexiconBeam, its dev-chosen defaults). `auto` (default): the best the model
   * offers by dev WER: lexicon, else ctc, else attention (@zipper/fuse resolveAsrDecoder).
   */
  readonly decoder?: AppDecoder;
  /** A word LM file for `lexicon` (default: the text tower package's). */
  readonly lm?: string;
  /**
   * `lexicon` only: search settings over the model's own (its CTC head's `search`) and the search's
   * defaults; `rescoreWeight` re-ranks the search's `nBest` by adding it x the zipped text tower's
   * log-probability (two-pass); `null` turns a carried optional setting off.
   */
  readonly search?: GivenLexiconSearchSettings;
  /** Called after each decode call with pieces done and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The value of `--oov-byte-log-prob` and `--dictionary-word-log-prob` that turns a model's own cost off. */
export const NONE = 'none';

/** The flag of each lexicon search setting (`lexiconSearchArgs` reads them, `lexiconSearchFlags` writes them). */
export const LEXICON_SEARCH_FLAGS: Readonly<Record<(typeof LEXICON_SEARCH_KEYS)[number], string>> = {
  beam: '--beam',
  lmWeight: '--lm-weight',
  wordBonus: '--word-bonus',
  blankPenalty: '--blank-penalty',
  rescoreWeight: '--rescore',
  nBest: '--n-best',
  oovByteLogProb: '--oov-byte-log-prob',
  dictionaryWordLogProb: '--dictionary-word-log-prob',
  views: '--views',
  levelRange: '--level-range',
  levelDown: '--level-down',
};

/** The parseArgs options of those flags, for the commands that take them (each a string, read by `lexiconSearchArgs`). */
export const LEXICON_SEARCH_OPTIONS = {
  beam: { type: 'string' },
  'lm-weight': { type: 'string' },
  'word-bonus': { type: 'string' },
  'blank-penalty': { type: 'string' },
  rescore: { type: 'string' },
  'n-best': { type: 'string' },
  'oov-byte-log-prob': { type: 'string' },
  'dictionary-word-log-prob': { type: 'string' },
  views: { type: 'string' },
  'level-range': { type: 'string' },
  'level-down': { type: 'string' },
} as const;

/**
 * `--beam`, `--lm-weight`, `--word-bonus`, `--blank-penalty`, `--rescore`, `--n-best`,
 * `--oov-byte-log-prob`, `--dictionary-word-log-prob`, `--views`, `--level-range` (zipper eval asr, zipper transcribe, zipper fuse release): the lexicon search
 * settings given, each checked,
 * the absent ones left out (the model's own, else the search's defaults, fill them: @zipper/fuse
 * withCarriedSearch). `--rescore 0` turns a model's own rescoring off, `--oov-byte-log-prob none` and
 * `--dictionary-word-log-prob none` its unknown-word and dictionary-word costs (null: none), `--views 1` its
 * views, `--level-range 0` its level fit (`--level-down D`: the most dB the fit may turn the audio down, 0 up only).
 */
export function lexiconSearchArgs(v: {
  readonly beam?: string;
  readonly 'lm-weight'?: string;
  readonly 'word-bonus'?: string;
  readonly 'blank-penalty'?: string;
  readonly rescore?: string;
  readonly 'n-best'?: string;
  readonly 'oov-byte-log-prob'?: string;
  readonly 'dictionary-word-log-prob'?: string;
  readonly views?: string;
  readonly 'level-range'?: string;
  readonly 'level-down'?: string;
}): GivenLexiconSearchSettings {
  const given = {
    ...(v.beam !== undefined ? { beam: intArg(v.beam, 'beam', 0, 1) } : {}),
    ...(v['lm-weight'] !== undefined ? { lmWeight: numArg(v['lm-weight'], 'lm-weight', 0) } : {}),
    ...(v['word-bonus'] !== undefined ? { wordBonus: numArg(v['word-bonus'], 'word-bonus', 0, -Infinity) } : {}),
    ...(v['blank-penalty'] !== undefined ? { blankPenalty: numArg(v['blank-penalty'], 'blank-penalty', 0, -Infinity) } : {}),
    ...(v.rescore !== undefined ? { rescoreWeight: numArg(v.rescore, 'rescore', 0) } : {}),
    ...(v['n-best'] !== undefined ? { nBest: intArg(v['n-best'], 'n-best', 0, 1) } : {}),
    ...(v['oov-byte-log-prob'] !== undefined ? { oovByteLogProb: costArg(v['oov-byte-log-prob'], 'oov-byte-log-prob') } : {}),
    ...(v['dictionary-word-log-prob'] !== undefined
      ? { dictionaryWordLogProb: costArg(v['dictionary-word-log-prob'], 'dictionary-word-log-prob') }
      : {}),
    ...(v.views !== undefined ? { views: intArg(v.views, 'views', 1, 1, AUDIO_VIEWS.length) } : {}),
    ...(v['level-range'] !== undefined ? { levelRange: intArg(v['level-range'], 'level-range', 0, 0, MAX_LEVEL_RANGE_DB) } : {}),
    ...(v['level-down'] !== undefined ? { levelDown: intArg(v['level-down'], 'level-down', 0, 0, MAX_LEVEL_RANGE_DB) } : {}),
  };
  try {
    // each value checked here; --n-best against the beam only where both are known (searchSettings):
    // a model may carry a wider beam than the default
    resolveLexiconSearchSettings({ ...withCarriedSearch(undefined, given), beam: given.beam ?? Number.MAX_SAFE_INTEGER });
    return Object.freeze(given);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** A log-probability flag (a number <= 0), or `none`: null, the model's own cost off. */
function costArg(value: string, flag: string): number | null {
  if (value === NONE) return null;
  try {
    return numArg(value, flag, 0, -Infinity, 0);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(`${e.message} (or ${NONE}: the model's own cost off)`);
    throw e;
  }
}

/**
 * The settings a search runs with: `given` over the model's `carried` (key by key), over the
 * defaults, checked together (a UsageError, e.g. --n-best above the beam the model carries).
 */
export function searchSettings(carried: LexiconSearchSettings | undefined, given?: GivenLexiconSearchSettings): ResolvedLexiconBeamOptions {
  try {
    return resolveLexiconBeamOptions(withCarriedSearch(carried, given));
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * `s` as the flags that give it, in `LEXICON_SEARCH_KEYS` order ("--beam 128 --lm-weight 1
 * --word-bonus=-2 ..."; a negative value joined by `=`, as parseArgs needs); the rescoring's flags
 * only where it rescores, `--oov-byte-log-prob` only where unknown words are spelled, `--dictionary-word-log-prob`
 * only where dictionary words are.
 */
export function lexiconSearchFlags(s: ResolvedLexiconBeamOptions): string {
  return LEXICON_SEARCH_KEYS.filter((k) => s.rescoreWeight > 0 || (k !== 'rescoreWeight' && k !== 'nBest'))
    .flatMap((k) => (s[k] === undefined ? [] : [`${LEXICON_SEARCH_FLAGS[k]}${s[k] < 0 ? '=' : ' '}${s[k]}`]))
    .join(' ');
}

/**
 * `auto` made concrete for the model `m` (named `where` in messages); other decoders are checked
 * against what it has (UsageError). The word LM (`lm`, else the text tower package's) is read
 * only when `auto` or `lexicon` needs it. `zipper eval asr` checks its --decoder here too.
 */
export async function resolveDecoder(m: TrainedModel, where: string, decoder: AppDecoder = 'auto', lm?: string): Promise<AsrDecoder> {
  // the word LM is read only when the choice may need it and the head can search it (bytes)
  const needsLm = (decoder === 'auto' || decoder === 'lexicon') && canSearchLexicon(m.ctcHead);
  try {
    return resolveAsrDecoder(decoder, { head: m.ctcHead, lexicon: needsLm && (await m.lexicon(lm)) !== undefined }, where);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

export async function transcribeAudio(app: AppModel, inputs: readonly AudioInput[], o: TranscribeOptions = {}): Promise<Transcript[]> {
  const { m } = app;
  const decoder = await resolveDecoder(m, app.location, o.decoder, o.lm);
  if (o.search && decoder !== 'lexicon')
    throw new UsageError(`the lexicon search's settings were given, but ${app.location} decodes with ${decoder} here`);
  // resolved (and checked) once, before any audio is decoded
  const search = decoder === 'lexicon' ? searchSettings(m.ctcHead?.search, o.search) : undefined;
  const { views, level } = audioOf(search);
  if (level) return transcribeLevels(app, inputs, { ...o, decoder, search: { ...o.search, levelRange: 0 } }, level);
  if (views.length > 1) return transcribeViews(app, inputs, { ...o, decoder, search: { ...o.search, views: 1 } }, views);
  const lexicon = decoder === 'lexicon' ? await m.lexicon(o.lm) : undefined;
  const batch = o.batch ?? 8;
  const spu = m.speech.samplesPerUnit;
  const units = inputs.map((a) => m.speech.encode(a.samples));
  const pieces = inputs.flatMap((a, i) => splitUnits(units[i]!, a.samples, spu, app.maxUnits).map((u, k) => ({ file: i, k, u })));
  const order = pieces.map((_, j) => j).sort((a, b) => pieces[a]!.u.length - pieces[b]!.u.length || a - b);
  const texts: string[] = new Array<string>(pieces.length);
  const reasons: string[] = new Array<string>(pieces.length);
  const ctc: (CtcTranscript | undefined)[] = new Array<CtcTranscript | undefined>(pieces.length);
  for (let at = 0; at < order.length; at += batch) {
    const rows = order.slice(at, at + batch);
    if (decoder !== 'attention') {
      const got = m.ctcTranscribe!(
        rows.map((j) => pieces[j]!.u),
        decoder === 'joint'
          ? { joint: { maxNewTokens: app.maxTextTokens } } // ctcAttentionBeam's defaults: beam 4, CTC weight 0.3
          : decoder === 'lexicon'
            ? { lexicon: lexicon!, options: search }
            : undefined,
      );
      rows.forEach((j, r) => {
        texts[j] = got[r]!.text;
        reasons[j] = 'stop';
        ctc[j] = got[r];
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
      ...(decoder === 'lexicon' ? { ...wordCounts(mine.map(({ j }) => ctc[j])), views: 1 } : {}),
    };
  });
}

/**
 * The views and level-fit gains a search's settings ask for (`searchAudio`: none, the audio alone
 * as recorded), or a UsageError.
 */
export function audioOf(
  search: Pick<ResolvedLexiconBeamOptions, 'views' | 'levelRange' | 'levelDown'> | undefined,
): ReturnType<typeof searchAudio> {
  try {
    return searchAudio(search);
  } catch (e) {
    if (e instanceof TokenizerConfigError) throw new UsageError(`the search's settings: ${e.message}`);
    throw e;
  }
}

/**
 * Each input scaled by the gain within `range` its units fit best (@zipper/tokenizers `fitLevel`),
 * then transcribed as `o` says (views and all); each transcript names its gain.
 */
async function transcribeLevels(
  app: AppModel,
  inputs: readonly AudioInput[],
  o: TranscribeOptions,
  range: LevelRange,
): Promise<Transcript[]> {
  const fits = inputs.map((a) => fitLevel(app.m.speech, a.samples, range));
  const scaled = inputs.map((a, i) => ({ ...a, samples: fits[i]!.samples }));
  return (await transcribeAudio(app, scaled, o)).map((t, i) => ({ ...t, levelDb: fits[i]!.gainDb }));
}

/**
 * Each of `views` transcribed alone (one view each, `o` otherwise as given), the transcripts voted
 * word by word against the first view's (@zipper/eval voteTranscripts); the counts are the first's.
 */
async function transcribeViews(
  app: AppModel,
  inputs: readonly AudioInput[],
  o: TranscribeOptions,
  views: readonly AudioView[],
): Promise<Transcript[]> {
  const each: Transcript[][] = [];
  for (const [k, view] of views.entries())
    each.push(
      await transcribeAudio(
        app,
        inputs.map((a) => ({ ...a, samples: viewAudio(a.samples, view) })),
        { ...o, onProgress: o.onProgress && ((done, total) => o.onProgress!(k * total + done, views.length * total)) },
      ),
    );
  const [anchor, ...others] = each;
  return anchor!.map((t, i) => ({
    ...t,
    text: voteTranscripts(
      t.text,
      others.map((x) => x[i]!.text),
    ),
    views: views.length,
  }));
}
