import { ConfigError } from '@zipper/core';

export type DataSize = 'tiny' | 'small' | 'full';

/** How many items each audio split gets. The text-only split takes every remaining sentence. */
export interface SplitCounts {
  /** Unlabeled speech (speech tower pretraining), transcripts withheld. */
  readonly speechOnly: number;
  /** Aligned sentences; each is rendered twice (an ASR voice and the TTS voice). */
  readonly aligned: number;
  readonly dev: number;
  readonly testClean: number;
  readonly testOther: number;
}

export const SIZES: Readonly<Record<DataSize, SplitCounts>> = {
  tiny: { speechOnly: 11, aligned: 13, dev: 3, testClean: 3, testOther: 5 },
  small: { speechOnly: 1000, aligned: 500, dev: 50, testClean: 50, testOther: 50 },
  full: { speechOnly: 9000, aligned: 5000, dev: 200, testClean: 200, testOther: 200 },
};

export interface DataBuildConfig {
  /** Output directory (created). */
  readonly out: string;
  readonly size: DataSize;
  readonly counts: SplitCounts;
  /** Seed of every random choice (split, voices, effects, noise). */
  readonly seed: number;
  /** Synthesis processes run at once. */
  readonly jobs: number;
  /** Output sample rate (Hz); audio is mono 16-bit PCM. */
  readonly sampleRate: number;
  /** Word-count range of sentences eligible for audio splits (longer ones mean fewer processes per hour of speech). */
  readonly audioWords: readonly [number, number];
  /** test-other (and aligned-noisy, dev-noisy, dev-other): SNR range (dB) of the additive noise and tempo factor range. */
  readonly snrDb: readonly [number, number];
  readonly tempo: readonly [number, number];
  /**
   * Also render every aligned pair's ASR rendering and every dev utterance again with test-other's
   * kind of effects (tempo, noise; the same seen voices): aligned-noisy.* and dev-noisy.
   */
  readonly noisy: boolean;
  /**
   * Also render every dev and test-clean sentence again by the TTS voice (no effects):
   * dev-tts-voice and test-clean-tts-voice, to measure recognition and the oracle in that voice.
   */
  readonly ttsVoiceSets: boolean;
  /**
   * Also render every dev sentence again by voices no other split uses (neither training, dev,
   * test-clean nor test-other's), with test-other's kind of effects: dev-other, a dev set that
   * stands for test-other (unseen voices) without reading it.
   */
  readonly devOther: boolean;
  /**
   * A text file of sentences nothing in the project has seen (plain text, or a fortune-mod cookie
   * file): also render `counts.dev` of them that are in no split of the corpus, by the seen voices
   * as dev is and again by the TTS voice: fresh-dev and fresh-dev-tts-voice. Undefined: no such sets.
   */
  readonly freshDev: string | undefined;
  /** Draw a progress bar on stderr. */
  readonly progress: boolean;
  /** Environment for the child processes (PATH decides which synthesizers are found). */
  readonly env: NodeJS.ProcessEnv;
}

export type DataBuildOptions = Partial<Omit<DataBuildConfig, 'counts'>> & { readonly out: string; readonly counts?: Partial<SplitCounts> };

/** The split counts that differ from the size's defaults (`--aligned`), or undefined when none does. */
export function countOverrides(cfg: Pick<DataBuildConfig, 'size' | 'counts'>): Partial<SplitCounts> | undefined {
  const base = SIZES[cfg.size];
  const diff = Object.fromEntries(Object.entries(cfg.counts).filter(([k, v]) => base[k as keyof SplitCounts] !== v));
  return Object.keys(diff).length > 0 ? (diff as Partial<SplitCounts>) : undefined;
}

/** Fills defaults, never mutates `opts`, throws ConfigError naming the broken invariant. */
export function resolveDataBuildConfig(opts: DataBuildOptions): DataBuildConfig {
  const size = opts.size ?? 'tiny';
  if (!(size in SIZES)) throw new ConfigError(`size "${size}" is not one of ${Object.keys(SIZES).join(', ')}`);
  const counts = { ...SIZES[size], ...opts.counts };
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`counts.${k} = ${v} must be an integer >= 1`);
  }
  const cfg: DataBuildConfig = {
    out: opts.out,
    size,
    counts,
    seed: opts.seed ?? 0,
    jobs: opts.jobs ?? 2,
    sampleRate: opts.sampleRate ?? 16000,
    audioWords: opts.audioWords ?? [8, 24],
    snrDb: opts.snrDb ?? [5, 15],
    tempo: opts.tempo ?? [0.85, 1.15],
    noisy: opts.noisy ?? false,
    ttsVoiceSets: opts.ttsVoiceSets ?? false,
    devOther: opts.devOther ?? false,
    freshDev: opts.freshDev,
    progress: opts.progress ?? false,
    env: opts.env ?? process.env,
  };
  if (!cfg.out) throw new ConfigError('out must be a directory path');
  if (cfg.freshDev !== undefined && (typeof cfg.freshDev !== 'string' || cfg.freshDev === '')) throw new ConfigError('freshDev must be the path of a text file of sentences (or undefined for no fresh-dev sets)');
  if (!Number.isSafeInteger(cfg.seed) || cfg.seed < 0) throw new ConfigError(`seed ${cfg.seed} must be a non-negative integer`);
  if (!Number.isInteger(cfg.jobs) || cfg.jobs < 1 || cfg.jobs > 64) throw new ConfigError(`jobs ${cfg.jobs} must be an integer in 1..64`);
  if (!Number.isInteger(cfg.sampleRate) || cfg.sampleRate < 8000) throw new ConfigError(`sampleRate ${cfg.sampleRate} must be an integer >= 8000`);
  if (!(cfg.audioWords[0] >= 1 && cfg.audioWords[0] <= cfg.audioWords[1])) throw new ConfigError(`audioWords range [${cfg.audioWords.join(', ')}] must have 1 <= lo <= hi`);
  if (!(cfg.snrDb[0] <= cfg.snrDb[1])) throw new ConfigError(`snrDb range [${cfg.snrDb.join(', ')}] must have lo <= hi`);
  if (!(cfg.tempo[0] > 0 && cfg.tempo[0] <= cfg.tempo[1])) throw new ConfigError(`tempo range [${cfg.tempo.join(', ')}] must have 0 < lo <= hi`);
  return cfg;
}
