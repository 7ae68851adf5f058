/**
 * A trained fused run as a decoder, for `zipper fuse generate` and `zipper eval`: OUT/run.json
 * names the towers (verified by sha256; `towers` overrides their locations when they moved) and
 * OUT/model holds the trained model (models.ts). ASR: audio -> units (the speech tower's
 * tokenizer) -> `[speech]` -> text; TTS: text -> BPE ids -> `[text]` -> units -> audio
 * (the speech tokenizer's vocoder).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError, ConfigError } from '@zipper/core';
import {
  asrHead,
  ByteLexicon,
  type CtcHeadSpec,
  type CtcTranscript,
  type Example,
  type JointDecodeOptions,
  exactSearch,
  lexiconLevelRange,
  refuseCrossWindows,
  resolveCrossWindows,
  resolveLexiconBeamOptions,
  type ResolvedLexiconBeamOptions,
  type ZippedGenerateOptions,
  type ZipperConfig,
} from '@zipper/fuse';
import { TextTower, WordLm } from '@zipper/text';
import {
  audioViews,
  prepareAudio,
  resolveLevelRange,
  TokenizerConfigError,
  type AudioView,
  type BpeTokenizer,
  type LevelRange,
  type SpeechTokenizer,
  type WavAudio,
} from '@zipper/tokenizers';
import { UsageError } from '../command.js';
import { loadBaselineModel, loadFuseModel, type RunModel } from './models.js';
import { MODEL_DIR, readRunDir, type FuseRun } from './run-file.js';
import { loadTowers, recordedLocations, type Modality } from './towers.js';

export interface TrainedModel {
  readonly run: FuseRun;
  readonly model: RunModel;
  readonly text: BpeTokenizer;
  readonly speech: SpeechTokenizer;
  /** Units of `audio` (any rate; resampled to the speech tokenizer's). */
  units(audio: WavAudio): Uint16Array;
  /** The input segment of a modality: `<bos> ids <eos>`. */
  segment(tower: Modality, ids: ArrayLike<number>): Example[number];
  /** Decodes `inputs` (one example per row) into `output`; text as a string, speech as units and audio. */
  generate(
    inputs: readonly Example[],
    output: Modality,
    options: Omit<ZippedGenerateOptions, 'output' | 'maxNewTokens'> & { maxNewTokens?: number },
  ): Promise<GeneratedRow[]>;
  /**
   * Transcripts of unit sequences by greedy decoding of the model's CTC head; with `joint` by
   * joint CTC/attention beam search (@zipper/fuse ctcAttentionBeam), with `lexicon` by the
   * lexicon-constrained beam search with a word LM (ctcLexiconBeam; a head over bytes only).
   * Undefined when the model has no head.
   */
  readonly ctcTranscribe?: (units: readonly ArrayLike<number>[], decoding?: CtcDecoding) => CtcTranscript[];
  /** The speech -> text CTC head (@zipper/fuse asrHead) of a zipped model that has one. */
  readonly ctcHead?: CtcHeadSpec;
  /**
   * The word LM as a lexicon for `ctcTranscribe`: `file`, or else the text tower package's
   * (TextTower.loadWordLm; built by `zipper lm build`); undefined when there is none. Read once per file.
   */
  lexicon(file?: string): Promise<ByteLexicon | undefined>;
  dispose(): void;
}

/** How `ctcTranscribe` searches (default: greedy). */
export type CtcDecoding =
  | { readonly joint: JointDecodeOptions }
  | {
      readonly lexicon: ByteLexicon;
      /**
       * The settings resolved over the model's own (`searchSettings`): searched with exactly these, none
       * of the model's filling one that is none again; `rescoreWeight` re-ranks by the zipped text tower
       * (the text tokenizer encoding).
       */
      readonly options?: ResolvedLexiconBeamOptions;
    };

export type GeneratedRow =
  | { readonly output: 'text'; readonly text: string; readonly ids: number[]; readonly finishReason: string }
  | {
      readonly output: 'speech';
      readonly units: Uint16Array;
      readonly audio: Float32Array;
      readonly sampleRate: number;
      readonly finishReason: string;
    };

/**
 * The decode option of unit noise (@zipper/fuse generateZipped `inputNoise`, the decode-side twin
 * of `--unit-noise` in training) for `zipper speak` and `zipper eval tts --unit-noise P`: each
 * generated speech unit is fed back, with probability `rate`, as a random unit; 0 gives none.
 */
export function speechInputNoise(rate: number): Pick<ZippedGenerateOptions, 'inputNoise'> {
  return rate > 0 ? { inputNoise: { rate, towers: ['speech'] } } : {};
}

/**
 * The decode option of a cross window (@zipper/fuse generateZipped `crossWindow`) for `zipper speak`
 * and `zipper eval tts --cross-window W`: the speech <- text links read only the text positions within
 * W of their cross-rope diagonal; 0 gives none.
 */
export function speechCrossWindow(width: number): Pick<ZippedGenerateOptions, 'crossWindow'> {
  return width > 0 ? { crossWindow: [{ to: 'speech', from: 'text', width }] } : {};
}

/**
 * `speechCrossWindow(width)` checked against the model before any decoding (UsageError, exit 2): a
 * single decoder has no links; a zipped model's speech <- text links need cross positions by rank
 * (@zipper/fuse resolveCrossWindows).
 */
export function checkSpeechCrossWindow(m: Pick<TrainedModel, 'model'>, width: number): void {
  const w = speechCrossWindow(width).crossWindow;
  if (!w) return;
  try {
    if (m.model.kind === 'fuse') resolveCrossWindows(m.model.config, w);
    else refuseCrossWindows(w);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`--cross-window: ${e.message}`);
    throw e;
  }
}

/**
 * The decode option of classifier-free guidance (@zipper/fuse generateZipped `guidance`) for
 * `rows` rows whose input is one segment of `input`: tokens sampled from cond + scale * (cond -
 * uncond), the unconditional input being that segment empty (its bos and eos only). None at scale 0.
 */
export function emptyInputGuidance(m: TrainedModel, input: Modality, scale: number, rows = 1): Pick<ZippedGenerateOptions, 'guidance'> {
  return scale > 0 ? { guidance: { scale, inputs: Array.from({ length: rows }, () => [m.segment(input, [])]) } } : {};
}

/**
 * The audio a lexicon search's settings ask for, resolved by @zipper/tokenizers: its views
 * (`AUDIO_VIEWS`' first k; none: the audio alone) and the level fit's gains (`levelRange` up,
 * `levelDown` down; none: undefined, the audio as recorded). A TokenizerConfigError out of range
 * (@zipper/fuse checks only that the settings are integers >= 0; it does not know the views or the fit).
 */
export function searchAudio(s: Pick<ResolvedLexiconBeamOptions, 'views' | 'levelRange' | 'levelDown'> | undefined): {
  readonly views: readonly AudioView[];
  readonly level?: LevelRange;
} {
  const range = s && lexiconLevelRange(s);
  return { views: audioViews(s?.views ?? 1), ...(range ? { level: resolveLevelRange(range) } : {}) };
}

/**
 * A head's carried search settings checked as `searchAudio` resolves them, so that a checkpoint
 * carrying views or a level range out of range fails to load, not at its first transcription.
 * A CheckpointError naming `file`.
 */
export function checkCarriedAudioSettings(head: CtcHeadSpec | undefined, file: string): void {
  if (head?.search === undefined) return;
  try {
    searchAudio(resolveLexiconBeamOptions(head.search));
  } catch (e) {
    if (e instanceof TokenizerConfigError) throw new CheckpointError(`${file}: the lexicon search it carries: ${e.message}`);
    throw e;
  }
}

/** Loads the run in `dir` (the --out of zipper fuse train / baseline train); `run`: its run.json when the caller has read it already. */
export async function loadTrainedModel(
  dir: string,
  towers: Partial<Record<Modality, string>> = {},
  run: FuseRun = readRunDir(dir),
): Promise<TrainedModel> {
  const root = path.resolve(dir);
  const modelDir = path.join(root, MODEL_DIR);
  if (!existsSync(modelDir))
    throw new CheckpointError(`${modelDir} does not exist: the run has not reached its first checkpoint; train (or --resume) it first`);
  const loaded = await loadTowers(recordedLocations(run.towers, towers, root), run.towers);
  const text = loaded.text.tokenizer;
  const speech = loaded.speech.tokenizer;
  const model = run.kind === 'fuse' ? await loadFuseModel(modelDir, loaded) : await loadBaselineModel(modelDir, loaded);
  const spec = (m: Modality) => model.config.towers.find((t) => t.name === m)!;
  const ctcHead = run.kind === 'fuse' ? asrHead(model.config as ZipperConfig) : undefined;
  try {
    checkCarriedAudioSettings(ctcHead, path.join(modelDir, 'zipper.json'));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    run,
    model,
    text,
    speech,
    units: (audio) => speech.encode(prepareAudio(audio, speech.features.sampleRate)),
    segment: (tower, ids) => ({ tower, ids: [spec(tower).bos, ...Array.from(ids), spec(tower).eos] }),
    async generate(inputs, output, options) {
      const s = spec(output);
      const maxNewTokens = options.maxNewTokens ?? (run.kind === 'fuse' ? s.config.maxSeqLen - 2 : s.config.maxSeqLen);
      const r = await model.generate(inputs, { ...options, output: [output], maxNewTokens });
      return r.rows.map((segments) => {
        const g = segments[0]!;
        if (output === 'text') return { output, text: text.decode(g.ids, { skipSpecial: true }), ids: g.ids, finishReason: g.finishReason };
        const units = Uint16Array.from(g.ids);
        return {
          output,
          units,
          audio: units.length > 0 ? speech.decode(units) : new Float32Array(0),
          sampleRate: speech.features.sampleRate,
          finishReason: g.finishReason,
        };
      });
    },
    ...(model.ctcTranscripts ? { ctcTranscribe: ctcTranscriber(model, text, spec('speech'), ctcHead) } : {}),
    ...(ctcHead ? { ctcHead } : {}),
    lexicon: lexiconLoader(loaded.refs.text.dir),
    dispose: () => model.dispose(),
  };
}

/** Lexicons by file (the text tower package's by default, which may be absent: undefined), read on first use. */
function lexiconLoader(textTowerDir: string): (file?: string) => Promise<ByteLexicon | undefined> {
  const cache = new Map<string, Promise<ByteLexicon | undefined>>();
  const read = async (file: string | undefined): Promise<ByteLexicon | undefined> => {
    if (file === undefined) {
      const lm = await TextTower.loadWordLm(textTowerDir);
      return lm && ByteLexicon.of(lm);
    }
    if (!existsSync(file))
      throw new CheckpointError(`word LM ${file} does not exist; build one with zipper lm build --text CORPUS.txt --out ${file}`);
    return ByteLexicon.of(WordLm.decode(readFileSync(file), file));
  };
  return (file) => {
    const key = file === undefined ? '' : path.resolve(file);
    let hit = cache.get(key);
    if (!hit) cache.set(key, (hit = read(file === undefined ? undefined : key)));
    return hit;
  };
}

/**
 * Units -> `<bos> units <eos>` -> the CTC head -> transcripts (ctcTranscripts: greedy, or the lexicon
 * search and its rescoring), or the joint search's tokens. `head`: the speech -> text head (asrHead),
 * the one the web page decodes and whose search settings `zipper eval asr` records.
 */
function ctcTranscriber(model: RunModel, text: BpeTokenizer, speech: { bos: number; eos: number }, head?: CtcHeadSpec) {
  const decodeTokens = (ids: number[]) => text.decode(ids, { skipSpecial: true });
  return (units: readonly ArrayLike<number>[], decoding?: CtcDecoding): CtcTranscript[] => {
    const rows = units.map((u) => [speech.bos, ...Array.from(u), speech.eos]);
    if (decoding && 'joint' in decoding)
      return model.jointDecode!(rows, decoding.joint).map((ids) => ({ text: decodeTokens(ids).trim(), count: ids.length }));
    const lexicon =
      decoding && 'lexicon' in decoding
        ? {
            lexicon: decoding.lexicon,
            ...(decoding.options ? { search: exactSearch(decoding.options) } : {}),
            encode: (t: string) => text.encode(t),
          }
        : {};
    return model.ctcTranscripts!(rows, decodeTokens, { ...(head ? { head } : {}), ...lexicon });
  };
}
