/**
 * `zipper data build --fresh-dev FILE`: a dev set of sentences nothing in the project has seen.
 * The corpus (fortunes, WordNet, the KJV Bible) went whole into text-only (the text tower's
 * pretraining text and the word LM) or an audio split, so the user brings new text. The rule:
 *
 *  1. FILE is a fortune-mod cookie file when one of its lines is exactly "%" (parsed as the
 *     corpus's fortune files are: `fortuneSentences`), else plain text, each line split into
 *     sentences.
 *  2. Each sentence is normalized as the corpus's are (`normalizeSentence`) and kept when it has
 *     the audio splits' word count (`cfg.audioWords`), is none of the corpus's sentences (every
 *     split's, text-only included) and is not a repeat: the usable sentences.
 *  3. Sorted (so the choice does not depend on the file's order), shuffled with the stream
 *     `fresh-dev` of the seed, and the first `cfg.counts.dev` taken; fewer is a FreshDevError.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { sha256Hex } from '@zipper/common/node';
import type { FreshDevInfo } from '@zipper/data';
import type { DataBuildConfig } from './config.js';
import { FreshDevError } from './errors.js';
import { normalizeSentence, splitSentences } from './normalize.js';
import { fitsAudio } from './plan.js';
import { prngFor } from './prng.js';
import { fortuneSentences, isFortuneFile } from './sources.js';

/** What `--fresh-dev FILE` gives a build: build.json's record of the file and the sentences chosen. */
export interface FreshDev {
  readonly info: FreshDevInfo;
  /** The chosen sentences (normalized), in the order fresh-dev and fresh-dev-tts-voice hold them. */
  readonly sentences: readonly string[];
}

/** The raw sentences of a fresh-dev file's text: a fortune-mod cookie file's entries, or plain text line by line. */
export function freshDevRawSentences(text: string): string[] {
  return isFortuneFile(text) ? fortuneSentences(text) : text.split('\n').flatMap(splitSentences);
}

/**
 * The usable sentences of `raw` (rule step 2): normalized, with `audioWords` words, not in
 * `corpus`, each once, sorted (code-unit order).
 */
export function usableFreshSentences(raw: readonly string[], corpus: ReadonlySet<string>, audioWords: readonly [number, number]): string[] {
  const usable = new Set<string>();
  for (const r of raw) {
    const s = normalizeSentence(r);
    if (s !== null && fitsAudio(s, audioWords) && !corpus.has(s)) usable.add(s);
  }
  return [...usable].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads `cfg.freshDev` and chooses its `cfg.counts.dev` sentences (the rule above); `corpus`: every sentence of the corpus. */
export function chooseFreshDev(corpus: readonly string[], cfg: Pick<DataBuildConfig, 'freshDev' | 'seed' | 'audioWords' | 'counts'>): FreshDev {
  const file = cfg.freshDev;
  if (file === undefined) throw new FreshDevError('chooseFreshDev needs cfg.freshDev, the file of new sentences (zipper data build --fresh-dev FILE)');
  if (!existsSync(file) || !statSync(file).isFile()) throw new FreshDevError(`--fresh-dev ${file}: no such file; pass a text file of new sentences (plain text, or a fortune-mod cookie file)`);
  const bytes = readFileSync(file);
  const usable = usableFreshSentences(freshDevRawSentences(bytes.toString('utf8')), new Set(corpus), cfg.audioWords);
  const needed = cfg.counts.dev;
  if (usable.length < needed) {
    const [lo, hi] = cfg.audioWords;
    throw new FreshDevError(
      `--fresh-dev ${file}: ${usable.length} usable sentences (normalized, ${lo}..${hi} words, in no split of the corpus, no repeats), ${needed} needed (dev's count); add new sentences to the file or pass a larger one`,
    );
  }
  const sentences = prngFor(cfg.seed, 'fresh-dev').shuffle(usable).slice(0, needed);
  return { info: { file: basename(file), sha256: sha256Hex(bytes), sentences: usable.length, chosen: sentences.length }, sentences };
}
