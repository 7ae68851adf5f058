/**
 * The zipped model of the page, loaded from ModelFiles (fetched URLs in the browser; the same code
 * runs under Node with directoryFiles) and run with the packages' pipelines:
 *
 * - ASR: WAV bytes -> readWav -> prepareAudio (mono, the speech tokenizer's rate) -> the speech
 *   tokenizer's units -> then one of the model's decoders (`decoders`: @zipper/fuse asrDecoders,
 *   `auto`'s choice first and the default, as in `zipper transcribe`): `lexicon`, the CTC head's
 *   lexicon beam search with the text tower package's word LM (TextTower.loadWordLm), its n best
 *   re-ranked by the text tower where the package carries a rescore weight; `ctc`,
 *   greedy decoding of the head (both: ctcTranscripts); `attention`, the text tower through
 *   cross-attention (generateZipped -> BPE decode); `joint`, joint CTC/attention beam search
 *   (ctcAttentionBeam, beam 4, CTC weight 0.3).
 * - TTS: text -> BPE ids -> `[text]` segment -> sampled units -> the speech tokenizer's vocoder
 *   -> 16-bit WAV bytes (exactly units x samplesPerUnit samples).
 *
 * Layout (the shipped checkpoint package, or a `zipper fuse train` run directory): run.json
 * names the towers; model/ is the fused checkpoint; each tower directory holds tower/ and
 * tokenizer/ (the text tower's may hold WORD_LM_FILE). Only the tokenizers and the word LM are
 * read from the towers' directories here: loadZipper loads (and verifies by sha256) the weights.
 */
import { readModelJson, type ModelFiles } from '@zipper/core';
import {
  asrDecoders,
  asrHead,
  ByteLexicon,
  canSearchLexicon,
  ctcAttentionBeam,
  ctcTranscripts,
  generateZipped,
  loadZipper,
  lexiconLevelRange,
  resolveAsrDecoder,
  resolveLexiconBeamOptions,
  wrapSegment,
  type AsrDecoder,
  type Zipper,
} from '@zipper/fuse';
import { SpeechTower, speechVocab, tokensToUnits } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { voteTranscripts } from '@zipper/eval';
import {
  audioViews,
  FAST_VOCODER,
  fitLevel,
  prepareAudio,
  readWav,
  resolveLevelRange,
  viewAudio,
  writeWav,
  type BpeTokenizer,
  type SpeechTokenizer,
} from '@zipper/tokenizers';
import { InputError, MAX_WAV_BYTES, MIN_AUDIO_SECONDS, prepareText, seenCharacters } from './limits.js';

export interface ModelSources {
  /** The run / checkpoint package directory: run.json, model/. */
  readonly run: ModelFiles;
  readonly text: ModelFiles;
  readonly speech: ModelFiles;
}

/** Milliseconds per named step, in order. */
export type Timings = Readonly<Record<string, number>>;

export interface Transcript {
  readonly text: string;
  /** The decoder that wrote it. */
  readonly decoder: Decoder;
  readonly seconds: number;
  readonly units: number;
  readonly tokens: number;
  readonly finishReason: string;
  readonly timings: Timings;
  /** The gain in dB the lexicon search heard the audio at, where the package fits the level (0: as recorded). */
  readonly levelDb?: number;
  /**
   * The lexicon search only, as `zipper transcribe --json` counts them (the first view's, where views
   * are voted): words neither the word LM nor its dictionary holds, spelled from their letters, and
   * words of the LM's dictionary.
   */
  readonly unknownWords?: number;
  readonly dictionaryWords?: number;
}

export interface Speech {
  readonly text: string;
  readonly units: number;
  readonly sampleRate: number;
  readonly samples: number;
  readonly wav: Uint8Array<ArrayBuffer>;
  readonly finishReason: string;
  readonly timings: Timings;
}

/** How a transcript is decoded (@zipper/fuse AsrDecoder). */
export type Decoder = AsrDecoder;

export interface WebModel {
  readonly zipper: Zipper;
  readonly text: BpeTokenizer;
  readonly speech: SpeechTokenizer;
  /** Longest audio one request transcribes (the speech tower's context), in seconds. */
  readonly maxAudioSeconds: number;
  /** Most text tokens one request speaks (the text tower's context). */
  readonly maxTextTokens: number;
  /** The decoders this model has, the default first (@zipper/fuse asrDecoders). */
  readonly decoders: readonly Decoder[];
  /** `onToken(n)`: called with the count of tokens decoded so far (attention only). Default decoder: decoders[0]. */
  transcribe(wav: Uint8Array, options?: { decoder?: Decoder; onToken?: (count: number) => void }): Promise<Transcript>;
  speak(text: string, options?: { seed?: number; onToken?: (count: number) => void }): Promise<Speech>;
  dispose(): void;
}

const now = (): number => performance.now();

/** generateZipped's per-token callback as a running count. */
function counter(onCount: ((count: number) => void) | undefined): (() => void) | undefined {
  if (!onCount) return undefined;
  let n = 0;
  return () => onCount(++n);
}

/** Loads the run's fused checkpoint and the towers' tokenizers (weights verified by sha256). */
export async function loadWebModel(src: ModelSources): Promise<WebModel> {
  const run = await readModelJson(src.run, 'run.json');
  if (run['format'] !== 'zipper-fuse-run')
    throw new InputError(`${src.run.location}/run.json is not a \`zipper fuse train\` run (format ${JSON.stringify(run['format'])})`);
  if (run['kind'] !== 'fuse')
    throw new InputError(`${src.run.location} holds a ${String(run['kind'])} model; the page runs zipped models (zipper fuse train)`);
  const text = await TextTower.loadTokenizer(src.text);
  const speech = await SpeechTower.loadTokenizer(src.speech);
  const zipper = await loadZipper(src.run.at('model'), { text: src.text.at('tower'), speech: src.speech.at('tower') });
  const spec = (name: string) => zipper.config.towers.find((t) => t.name === name)!;
  const maxUnits = spec('speech').config.maxSeqLen - 2;
  const maxTextTokens = spec('text').config.maxSeqLen - 2;
  const seen = seenCharacters(text);
  const maxAudioSeconds = maxUnits / speech.unitRate;
  const ctcHead = asrHead(zipper.config);
  const speechSpec = spec('speech');
  // the word LM is read only for a head lexicon decoding can search (bytes)
  const wordLm = canSearchLexicon(ctcHead) ? await TextTower.loadWordLm(src.text) : undefined;
  const lexicon = wordLm && ByteLexicon.of(wordLm);
  const offer = { head: ctcHead, lexicon: lexicon !== undefined };
  // the package's own search settings may add the text tower's second pass (its timing label says so)
  const carried = resolveLexiconBeamOptions(ctcHead?.search);
  const rescores = carried.rescoreWeight > 0;
  // the views of the audio the package's search votes over (the first: the audio as is)
  const views = audioViews(carried.views ?? 1);
  // the gains the package's level fit tries (none: the audio as recorded)
  const carriedRange = lexiconLevelRange(carried);
  const levelRange = carriedRange && resolveLevelRange(carriedRange); // checked here, at load, like the views
  const decoders = asrDecoders(offer);

  async function transcribe(
    bytes: Uint8Array,
    options: { decoder?: Decoder; onToken?: (count: number) => void } = {},
  ): Promise<Transcript> {
    const t0 = now();
    const decoder = resolveAsrDecoder(options.decoder ?? 'auto', offer, 'this model');
    if (bytes.length > MAX_WAV_BYTES)
      throw new InputError(
        `the file is ${(bytes.length / 2 ** 20).toFixed(1)} MiB, above the limit of ${MAX_WAV_BYTES / 2 ** 20} MiB; cut the audio to ${maxAudioSeconds.toFixed(1)} s at most`,
      );
    const wav = readWav(bytes, { maxBytes: MAX_WAV_BYTES });
    const seconds = (wav.channels[0]?.length ?? 0) / wav.sampleRate;
    if (seconds < MIN_AUDIO_SECONDS)
      throw new InputError(`the audio lasts ${seconds.toFixed(2)} s; record or upload at least ${MIN_AUDIO_SECONDS} s of speech`);
    if (seconds > maxAudioSeconds)
      throw new InputError(
        `the audio lasts ${seconds.toFixed(1)} s; this model hears ${maxAudioSeconds.toFixed(1)} s at most at once (its speech context is ${maxUnits} units); cut it into shorter pieces`,
      );
    const recorded = prepareAudio(wav, speech.features.sampleRate);
    const t1 = now();
    // a package carrying a level range: its lexicon search hears the audio at the gain its units fit best
    const fit = decoder === 'lexicon' && levelRange !== undefined ? fitLevel(speech, recorded, levelRange) : undefined;
    const levelDb = fit?.gainDb;
    const samples = fit?.samples ?? recorded;
    const units = fit?.ids ?? speech.encode(samples);
    const t2 = now();
    if (decoder === 'joint') {
      const [r] = ctcAttentionBeam(zipper, [[speechSpec.bos, ...units, speechSpec.eos]], { maxNewTokens: maxTextTokens }, ctcHead);
      return {
        text: text.decode(r!.ids, { skipSpecial: true }).trim(),
        decoder,
        seconds,
        units: units.length,
        tokens: r!.ids.length,
        finishReason: r!.finishReason,
        timings: { 'read WAV': t1 - t0, 'audio to units': t2 - t1, 'decode text (joint CTC/attention)': now() - t2 },
      };
    }
    if (decoder !== 'attention') {
      const decodeUnits = (u: ArrayLike<number>) =>
        ctcTranscripts(zipper, [[speechSpec.bos, ...Array.from(u), speechSpec.eos]], (ids) => text.decode(ids, { skipSpecial: true }), {
          head: ctcHead!,
          // the search with the package's settings; a package carrying a rescore weight re-ranks its n best by the text tower
          ...(decoder === 'lexicon' ? { lexicon: lexicon!, encode: (t: string) => text.encode(t) } : {}),
        })[0]!;
      const t = decodeUnits(units);
      // a package carrying views: each other view decoded alone (cut to the context, as zipper eval asr cuts), voted
      const voted =
        decoder === 'lexicon'
          ? views.slice(1).map((v) => decodeUnits(speech.encode(viewAudio(samples, v)).subarray(0, maxUnits)).text)
          : [];
      return {
        text: voted.length > 0 ? voteTranscripts(t.text, voted) : t.text,
        decoder,
        seconds,
        units: units.length,
        tokens: t.count,
        finishReason: 'stop',
        ...(levelDb !== undefined ? { levelDb } : {}),
        ...(decoder === 'lexicon' ? { unknownWords: t.unknown ?? 0, dictionaryWords: t.dictionary ?? 0 } : {}),
        timings: {
          'read WAV': t1 - t0,
          [levelDb !== undefined ? 'audio to units (level fitted)' : 'audio to units']: t2 - t1,
          [decoder === 'ctc'
            ? 'decode text (CTC)'
            : `decode text (CTC + word LM${rescores ? ', rescored' : ''}${voted.length > 0 ? `, ${views.length} views voted` : ''})`]:
            now() - t2,
        },
      };
    }
    const r = await generateZipped(zipper, [[wrapSegment(zipper.config, 'speech', Array.from(units))]], {
      output: ['text'],
      maxNewTokens: maxTextTokens,
      temperature: 0,
      onToken: counter(options.onToken),
    });
    const g = r.rows[0]![0]!;
    const out = text.decode(g.ids, { skipSpecial: true }).trim();
    const t3 = now();
    return {
      text: out,
      decoder,
      seconds,
      units: units.length,
      tokens: g.ids.length,
      finishReason: g.finishReason,
      timings: { 'read WAV': t1 - t0, 'audio to units': t2 - t1, 'decode text': t3 - t2 },
    };
  }

  async function speak(raw: string, options: { seed?: number; onToken?: (count: number) => void } = {}): Promise<Speech> {
    const t0 = now();
    const prepared = prepareText(raw, seen);
    const ids = text.encode(prepared);
    if (ids.length > maxTextTokens)
      throw new InputError(
        `the text is ${ids.length} tokens long; this model speaks ${maxTextTokens} tokens at most at once (its text context); split it into shorter sentences`,
      );
    const t1 = now();
    const r = await generateZipped(zipper, [[wrapSegment(zipper.config, 'text', ids)]], {
      output: ['speech'],
      maxNewTokens: maxUnits,
      temperature: 1,
      seed: options.seed ?? 0,
      onToken: counter(options.onToken),
    });
    const g = r.rows[0]![0]!;
    const units = tokensToUnits(speechVocab(speech.units.numUnits), g.ids);
    const t2 = now();
    if (units.length === 0)
      throw new InputError(
        `the model ended the speech of "${prepared}" at once (0 units) with seed ${options.seed ?? 0}; try another seed`,
      );
    const audio = speech.decode(units, {
      length: units.length * speech.samplesPerUnit,
      vocoder: FAST_VOCODER,
    });
    const t3 = now();
    const wav = writeWav(audio, speech.features.sampleRate, 'pcm16');
    const t4 = now();
    return {
      text: prepared,
      units: units.length,
      sampleRate: speech.features.sampleRate,
      samples: audio.length,
      wav,
      finishReason: g.finishReason,
      timings: { 'text to tokens': t1 - t0, 'decode units': t2 - t1, vocoder: t3 - t2, 'write WAV': t4 - t3 },
    };
  }

  return { zipper, text, speech, maxAudioSeconds, maxTextTokens, decoders, transcribe, speak, dispose: () => zipper.dispose() };
}
