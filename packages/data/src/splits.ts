/**
 * The split names of a data build, the nested aligned fractions, and which file holds each.
 *
 *   text-only.txt                      text tower pretraining, one sentence per line
 *   speech-only.jsonl                  speech tower pretraining (no transcripts)
 *   aligned-{tts,asr}.{1,10,100}pct.jsonl  aligned pairs; 1% ⊂ 10% ⊂ 100%
 *   dev.jsonl, test-clean.jsonl, test-other.jsonl
 *   aligned-noisy.{1,10,100}pct.jsonl, dev-noisy.jsonl   only in builds made with --noisy:
 *                                      the aligned-asr and dev renderings again, with test-other's
 *                                      kind of tempo change and additive noise (seen voices)
 *   dev-tts-voice.jsonl, test-clean-tts-voice.jsonl   only in builds made with --tts-voice-sets:
 *                                      the dev and test-clean sentences again, every one by the
 *                                      TTS voice (no effects)
 *   dev-other.jsonl                    only in builds made with --dev-other: the dev sentences
 *                                      again by voices no other split uses, with test-other's
 *                                      kind of tempo change and additive noise
 *   fresh-dev.jsonl, fresh-dev-tts-voice.jsonl   only in builds made with --fresh-dev FILE: dev's
 *                                      count of sentences from FILE that are in no split of the
 *                                      corpus (nothing trained on them), by the seen voices as dev
 *                                      is, and again every one by the TTS voice (no effects)
 */
import { DataConfigError } from './errors.js';

/** Splits with audio (a JSONL manifest each, aligned ones once per fraction). */
export const AUDIO_SPLITS = [
  'speech-only',
  'aligned-asr',
  'aligned-tts',
  'dev',
  'test-clean',
  'test-other',
  'aligned-noisy',
  'dev-noisy',
  'dev-tts-voice',
  'test-clean-tts-voice',
  'dev-other',
  'fresh-dev',
  'fresh-dev-tts-voice',
] as const;
export type AudioSplit = (typeof AUDIO_SPLITS)[number];

/** Every split of a build, the text-only one included. */
export const SPLITS = ['text-only', ...AUDIO_SPLITS] as const;
export type Split = (typeof SPLITS)[number];

/** Nested subsets of the aligned pairs, in percent. */
export const ALIGNED_FRACTIONS = [1, 10, 100] as const;
export type AlignedFraction = (typeof ALIGNED_FRACTIONS)[number];

export type AlignedSplit = 'aligned-asr' | 'aligned-tts' | 'aligned-noisy';

/** The splits a build has only when made with `--noisy` (`zipper data build`). */
export const NOISY_SPLITS = ['aligned-noisy', 'dev-noisy'] as const satisfies readonly AudioSplit[];

/** The splits a build has only when made with `--tts-voice-sets` (`zipper data build`). */
export const TTS_VOICE_SPLITS = ['dev-tts-voice', 'test-clean-tts-voice'] as const satisfies readonly AudioSplit[];

/** The split a build has only when made with `--dev-other` (`zipper data build`). */
export const DEV_OTHER_SPLIT = 'dev-other' as const satisfies AudioSplit;

/** The splits a build has only when made with `--fresh-dev FILE` (`zipper data build`). */
export const FRESH_DEV_SPLITS = ['fresh-dev', 'fresh-dev-tts-voice'] as const satisfies readonly AudioSplit[];

/**
 * The optional renderings of a build, in build.json order: the build.json field (and `buildData`
 * option) that records one, its `zipper data build` flag, the flag's argument (`FILE`: the set is
 * made from a file the user gives, and build.json records that file, `FreshDevInfo`, instead of
 * `true`), the suffix `buildName` gives it, and the splits it adds. Every rule about optional
 * splits (`splitFlag`, `buildHasSplit`, `buildArgs`, `buildName`, `buildRef`, build.json's checks,
 * `allManifestFiles`) reads this one table.
 */
export const OPTIONAL_SETS = [
  { field: 'noisy', flag: '--noisy', arg: undefined, nameSuffix: '-noisy', splits: NOISY_SPLITS },
  { field: 'ttsVoiceSets', flag: '--tts-voice-sets', arg: undefined, nameSuffix: '-ttsvoice', splits: TTS_VOICE_SPLITS },
  { field: 'devOther', flag: '--dev-other', arg: undefined, nameSuffix: '-devother', splits: [DEV_OTHER_SPLIT] },
  { field: 'freshDev', flag: '--fresh-dev', arg: 'FILE', nameSuffix: '-freshdev', splits: FRESH_DEV_SPLITS },
] as const;
export type OptionalSet = (typeof OPTIONAL_SETS)[number];
export type OptionalSetField = OptionalSet['field'];

/**
 * Which optional sets a build holds, by field: `true` (or, for a set made from a file, build.json's
 * record of it) when it holds one; `false` or absent when it does not. A build.json, a BuildRef and
 * a builder's config all read as one.
 */
export type OptionalSetPresence = Readonly<Partial<Record<OptionalSetField, boolean | object>>>;

/** Whether `build` holds the optional set `field` (`OptionalSetPresence`). */
export function holdsOptionalSet(build: OptionalSetPresence, field: OptionalSetField): boolean {
  const v = build[field];
  return v !== undefined && v !== false;
}

/**
 * What a manifest's records look like (decides which fields are required). `test-other`: audio with
 * a tempo change and additive noise (test-other, aligned-noisy, dev-noisy, dev-other).
 */
export type RecordKind = 'speech-only' | 'transcribed' | 'test-other';

/** The splits whose records carry tempo, snrDb and noise. */
export type EffectSplit = 'test-other' | 'aligned-noisy' | 'dev-noisy' | 'dev-other';

export const TEXT_ONLY_FILE = 'text-only.txt';
export const BUILD_FILE = 'build.json';

export function isAudioSplit(s: string): s is AudioSplit {
  return (AUDIO_SPLITS as readonly string[]).includes(s);
}

export function isAlignedSplit(s: string): s is AlignedSplit {
  return s === 'aligned-asr' || s === 'aligned-tts' || s === 'aligned-noisy';
}

/** Whether a split is one only a build made with `--noisy` has (aligned-noisy, dev-noisy). */
export function isNoisySplit(s: string): s is (typeof NOISY_SPLITS)[number] {
  return (NOISY_SPLITS as readonly string[]).includes(s);
}

/** Whether a split is one only a build made with `--tts-voice-sets` has (dev-tts-voice, test-clean-tts-voice). */
export function isTtsVoiceSplit(s: string): s is (typeof TTS_VOICE_SPLITS)[number] {
  return (TTS_VOICE_SPLITS as readonly string[]).includes(s);
}

/** The optional rendering a split belongs to (`OPTIONAL_SETS`); undefined for the splits every build has. */
export function optionalSetOf(split: AudioSplit): OptionalSet | undefined {
  return OPTIONAL_SETS.find((o) => (o.splits as readonly string[]).includes(split));
}

/** The `zipper data build` flag a split needs (`--noisy`, `--tts-voice-sets`, `--dev-other`, `--fresh-dev`); undefined for the splits every build has. */
export function splitFlag(split: AudioSplit): OptionalSet['flag'] | undefined {
  return optionalSetOf(split)?.flag;
}

/** Whether a split's audio has test-other's effects (tempo, noise). */
export function isEffectSplit(s: string): s is EffectSplit {
  return s === 'test-other' || s === 'aligned-noisy' || s === 'dev-noisy' || s === 'dev-other';
}

/** The record kind of a split's manifest. */
export function recordKindOf(split: AudioSplit): RecordKind {
  return split === 'speech-only' ? 'speech-only' : isEffectSplit(split) ? 'test-other' : 'transcribed';
}

/**
 * The manifest file of a split: `dev.jsonl`, `aligned-tts.10pct.jsonl`, ... `fraction` is
 * required for aligned splits (1, 10 or 100) and refused for the others.
 */
export function manifestFileName(split: AudioSplit, fraction?: number): string {
  if (!isAudioSplit(split)) throw new DataConfigError(`unknown audio split "${String(split)}"; one of ${AUDIO_SPLITS.join(', ')}`);
  if (isAlignedSplit(split)) {
    if (!(ALIGNED_FRACTIONS as readonly number[]).includes(fraction as number)) {
      throw new DataConfigError(`${split} needs a fraction of ${ALIGNED_FRACTIONS.join(', ')} (percent), got ${String(fraction)}`);
    }
    return `${split}.${fraction}pct.jsonl`;
  }
  if (fraction !== undefined) throw new DataConfigError(`${split} has no fractions (only aligned-asr, aligned-tts and aligned-noisy do); drop fraction ${fraction}`);
  return `${split}.jsonl`;
}

/** Inverse of `manifestFileName` (base name only); undefined for files that are not manifests. */
export function parseManifestFileName(name: string): { split: AudioSplit; fraction?: AlignedFraction } | undefined {
  const m = /^([a-z-]+?)(?:\.(\d+)pct)?\.jsonl$/.exec(name);
  if (!m) return undefined;
  const split = m[1]!;
  if (!isAudioSplit(split)) return undefined;
  if (isAlignedSplit(split)) {
    const f = Number(m[2]);
    return (ALIGNED_FRACTIONS as readonly number[]).includes(f) ? { split, fraction: f as AlignedFraction } : undefined;
  }
  return m[2] === undefined ? { split } : undefined;
}

/** Every manifest file of a complete build, in build.json order (`noisy`, `ttsVoiceSets`, `devOther`, `freshDev`: a build made with --noisy, --tts-voice-sets, --dev-other, --fresh-dev FILE). */
export function allManifestFiles(options: OptionalSetPresence = {}): string[] {
  const out: string[] = [];
  const add = (s: AudioSplit) => (isAlignedSplit(s) ? ALIGNED_FRACTIONS.forEach((f) => out.push(manifestFileName(s, f))) : out.push(manifestFileName(s)));
  for (const s of ['aligned-tts', 'aligned-asr', 'dev', 'test-clean', 'test-other', 'speech-only'] as const) add(s);
  for (const o of OPTIONAL_SETS) if (holdsOptionalSet(options, o.field)) o.splits.forEach(add);
  return out;
}
