import { sha256Hex } from '@zipper/common/node';
import { ALIGNED_FRACTIONS, type AlignedFraction, type AudioSplit } from '@zipper/data';
import type { DataBuildConfig } from './config.js';
import type { NoiseKind } from './effects.js';
import { DataBuildError } from './errors.js';
import { prngFor } from './prng.js';
import { ASR_VOICES, DEV_OTHER_VOICES, SEEN_VOICES, TTS_VOICE, UNSEEN_VOICES, type Voice } from './voices.js';

/** Audio splits (`@zipper/data`). aligned-asr and aligned-tts render the same aligned sentences. */
export type { AudioSplit } from '@zipper/data';

/** Nested subsets of the aligned pairs, in percent (`@zipper/data`'s aligned fractions). */
export const ALIGNED_SUBSETS = ALIGNED_FRACTIONS;
export type AlignedSubset = AlignedFraction;

/** One utterance to synthesize: everything its audio depends on. */
export interface AudioItem {
  readonly id: string;
  readonly split: AudioSplit;
  readonly text: string;
  readonly voice: Voice;
  /** Output path relative to the data directory. */
  readonly path: string;
  /** test-other, aligned-noisy, dev-noisy and dev-other only: sox tempo factor, additive noise SNR (dB) and kind. */
  readonly tempo?: number;
  readonly snrDb?: number;
  readonly noise?: NoiseKind;
  /** aligned only: the smallest nested subset (percent) that contains this pair. */
  readonly subset?: AlignedSubset;
}

export interface BuildPlan {
  /** Text-only pretraining sentences (the text tower's data), in shuffled order. */
  readonly textOnly: readonly string[];
  readonly items: readonly AudioItem[];
}

/** Smallest nested subset holding the pair at `rank` of `n` (1% = the first ceil(n/100) pairs, ...). */
export function subsetOf(rank: number, n: number): AlignedSubset {
  for (const pct of ALIGNED_SUBSETS) if (rank < Math.ceil((n * pct) / 100)) return pct;
  return 100;
}

/** Whether a normalized sentence may be rendered as audio: `audioWords` (lo..hi) words, the split rule's test. */
export function fitsAudio(sentence: string, [lo, hi]: readonly [number, number]): boolean {
  const words = sentence.split(' ').length;
  return words >= lo && words <= hi;
}

/**
 * The split rule: the sorted unique corpus is shuffled with the seed; walking that order, the
 * first sentences with `cfg.audioWords` words fill the audio slices test-clean | test-other | dev
 * | aligned | speech-only in turn, and every other sentence goes to text-only. A sentence lands in
 * exactly one split. Voices are dealt round-robin from a seeded shuffle of the split's voice pool;
 * test-other draws tempo, SNR and noise kind per item from its own stream. With `cfg.noisy`,
 * aligned-noisy renders each aligned-asr item again (same sentence, voice and subset) and dev-noisy
 * each dev item, with effects drawn the same way; they come last, so the other items (and their
 * manifests) are those of the build without it. With `cfg.ttsVoiceSets`, dev-tts-voice and
 * test-clean-tts-voice render each dev and test-clean sentence again by the TTS voice (no effects),
 * after those. With `cfg.devOther`, dev-other renders each dev sentence again by DEV_OTHER_VOICES
 * (dealt like any split's) with effects drawn like test-other's, after those. With `cfg.freshDev`,
 * `freshDev` holds the sentences `chooseFreshDev` took from that file (in no split of the corpus):
 * fresh-dev deals them over the seen voices as dev is dealt, and fresh-dev-tts-voice renders each
 * again by the TTS voice (no effects), after everything else.
 */
export function planBuild(sentences: readonly string[], cfg: DataBuildConfig, freshDev?: readonly string[]): BuildPlan {
  if ((cfg.freshDev !== undefined) !== (freshDev !== undefined)) {
    throw new DataBuildError(`cfg.freshDev (${String(cfg.freshDev)}) and the fresh-dev sentences go together: pass chooseFreshDev(...).sentences with it, neither without it`);
  }
  const c = cfg.counts;
  const needed = c.testClean + c.testOther + c.dev + c.aligned + c.speechOnly;
  const audio: string[] = [];
  const textOnly: string[] = [];
  for (const s of prngFor(cfg.seed, 'split').shuffle(sentences)) {
    if (audio.length < needed && fitsAudio(s, cfg.audioWords)) audio.push(s);
    else textOnly.push(s);
  }
  if (audio.length < needed || textOnly.length < 1000) {
    throw new DataBuildError(`corpus has ${sentences.length} sentences (${audio.length} usable for audio); size "${cfg.size}" needs ${needed} for audio plus 1000 for text-only; pick a smaller size`);
  }
  let at = 0;
  const take = (n: number) => audio.slice(at, (at += n));
  const testClean = take(c.testClean);
  const testOther = take(c.testOther);
  const dev = take(c.dev);
  const aligned = take(c.aligned);
  const speechOnly = take(c.speechOnly);

  const items: AudioItem[] = [];
  /** The i-th item of `split`: its id, split and path. */
  const place = (split: AudioSplit, i: number) => {
    const id = `${split}-${String(i).padStart(6, '0')}`;
    return { id, split, path: `audio/${split}/${id}.wav` };
  };
  const add = (split: AudioSplit, texts: readonly string[], pool: readonly Voice[], extra?: (id: string, i: number) => Partial<AudioItem>) => {
    const voices = prngFor(cfg.seed, `voices/${split}`).shuffle(pool);
    const added: AudioItem[] = texts.map((text, i) => {
      const at = place(split, i);
      return { ...at, text, voice: voices[i % voices.length]!, ...extra?.(at.id, i) };
    });
    items.push(...added);
    return added;
  };
  /** `of` again as `split`: the same sentences, voices and subsets, changed by `change` (effects, another voice). */
  const again = (split: AudioSplit, of: readonly AudioItem[], change: (id: string) => Partial<AudioItem>) =>
    of.forEach((it, i) => {
      const at = place(split, i);
      items.push({ ...it, ...at, ...change(at.id) });
    });
  const effects = (id: string): Pick<AudioItem, 'tempo' | 'snrDb' | 'noise'> => {
    const r = prngFor(cfg.seed, `effects/${id}`);
    return {
      tempo: Math.round(r.uniform(cfg.tempo[0], cfg.tempo[1]) * 1000) / 1000,
      snrDb: Math.round(r.uniform(cfg.snrDb[0], cfg.snrDb[1]) * 10) / 10,
      noise: r.next() < 0.5 ? 'white' : 'pink',
    };
  };
  add('aligned-tts', aligned, [TTS_VOICE], (_, i) => ({ subset: subsetOf(i, aligned.length) }));
  const asr = add('aligned-asr', aligned, ASR_VOICES, (_, i) => ({ subset: subsetOf(i, aligned.length) }));
  const devItems = add('dev', dev, SEEN_VOICES);
  const testCleanItems = add('test-clean', testClean, SEEN_VOICES);
  add('test-other', testOther, UNSEEN_VOICES, effects);
  add('speech-only', speechOnly, SEEN_VOICES);
  if (cfg.noisy) {
    again('aligned-noisy', asr, effects);
    again('dev-noisy', devItems, effects);
  }
  if (cfg.ttsVoiceSets) {
    again('dev-tts-voice', devItems, () => ({ voice: TTS_VOICE }));
    again('test-clean-tts-voice', testCleanItems, () => ({ voice: TTS_VOICE }));
  }
  if (cfg.devOther) add('dev-other', dev, DEV_OTHER_VOICES, effects);
  if (freshDev) {
    const fresh = add('fresh-dev', freshDev, SEEN_VOICES);
    again('fresh-dev-tts-voice', fresh, () => ({ voice: TTS_VOICE }));
  }
  return { textOnly, items };
}

/** Hash of everything an item's audio depends on; a journal entry is reused only if it matches. */
export function itemSpecHash(item: AudioItem, cfg: DataBuildConfig): string {
  const spec = { v: 1, seed: cfg.seed, rate: cfg.sampleRate, id: item.id, text: item.text, voice: item.voice, tempo: item.tempo, snrDb: item.snrDb, noise: item.noise };
  return sha256Hex(JSON.stringify(spec)).slice(0, 32);
}
