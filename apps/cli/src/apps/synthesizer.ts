/**
 * Speech synthesis with a zipped model: each chunk of normalized text (text-input.ts) -> BPE ids
 * -> `[text]` -> sampled units, decoded alone with the same seed (so a chunk's speech does not
 * depend on the others); the units of all chunks, in order, go through the speech tokenizer's
 * vocoder once (@zipper/tokenizers FAST_VOCODER): the audio is exactly units x
 * samplesPerUnit samples (20 ms a unit at 50 units/s).
 */
import { ZipperError, type SamplingConfig } from '@zipper/core';
import { speechVocab, tokensToUnits } from '@zipper/speech';
import { FAST_VOCODER } from '@zipper/tokenizers';
import { emptyInputGuidance, speechCrossWindow, speechInputNoise } from '../fuse/trained-model.js';
import type { AppModel } from './model.js';
import type { SpeechText } from './text-input.js';

/** The model ended the speech at once (no unit) for a whole text. */
export class NoSpeechError extends ZipperError {}

export interface SpeakOptions extends Partial<Pick<SamplingConfig, 'temperature' | 'topK' | 'topP'>> {
  readonly seed: number;
  /** Classifier-free guidance scale (`emptyInputGuidance`: uncond is the empty text; default 0, none). */
  readonly guidance?: number;
  /** Decode-time unit noise (`speechInputNoise`: each generated unit fed back as a random one with this probability; default 0, none). */
  readonly unitNoise?: number;
  /** A cross window on the speech <- text links (`speechCrossWindow`: text positions either side of the diagonal; default 0, none). */
  readonly crossWindow?: number;
  /** Most units per chunk (default: the model's speech context). */
  readonly maxUnits?: number;
  /** Called after each decoded chunk. */
  readonly onChunk?: (done: number, total: number) => void;
}

export interface Speech {
  readonly audio: Float32Array;
  readonly sampleRate: number;
  readonly units: number;
  readonly chunks: number;
  /** 'stop' when every chunk ended with the speech tower's eos, else 'length' (cut at the unit limit). */
  readonly finishReason: string;
  /** Seconds in the model's decoding and in the vocoder. */
  readonly decodeSeconds: number;
  readonly vocoderSeconds: number;
}

/** Token ids of `chunk`, split in halves by words until each part fits `max` tokens. */
function fitTokens(app: AppModel, chunk: string): number[][] {
  const ids = app.m.text.encode(chunk);
  const words = chunk.split(' ');
  if (ids.length <= app.maxTextTokens || words.length < 2) return [ids.slice(0, app.maxTextTokens)];
  const half = Math.ceil(words.length / 2);
  return [...fitTokens(app, words.slice(0, half).join(' ')), ...fitTokens(app, words.slice(half).join(' '))];
}

export async function synthesize(app: AppModel, text: SpeechText, o: SpeakOptions): Promise<Speech> {
  const { m } = app;
  const maxNewTokens = Math.min(o.maxUnits ?? app.maxUnits, app.maxUnits);
  const vocab = speechVocab(m.speech.units.numUnits);
  const inputs = text.chunks.flatMap((c) => fitTokens(app, c));
  const all: number[] = [];
  const guided = emptyInputGuidance(m, 'text', o.guidance ?? 0);
  let stopped = true;
  const t0 = performance.now();
  for (const [i, ids] of inputs.entries()) {
    const r = await m.model.generate([[m.segment('text', ids)]], {
      output: ['speech'],
      maxNewTokens,
      temperature: o.temperature ?? 1,
      topK: o.topK ?? 0,
      topP: o.topP ?? 1,
      seed: o.seed,
      ...guided,
      ...speechInputNoise(o.unitNoise ?? 0),
      ...speechCrossWindow(o.crossWindow ?? 0),
    });
    const g = r.rows[0]![0]!;
    all.push(...tokensToUnits(vocab, g.ids)); // ids past the units (bos/eos) are no sound
    stopped &&= g.finishReason === 'stop';
    o.onChunk?.(i + 1, inputs.length);
  }
  const t1 = performance.now();
  const units = Uint16Array.from(all);
  if (units.length === 0)
    throw new NoSpeechError(
      `the model ended the speech of "${text.chunks.join(' ')}" at once (0 units) with seed ${o.seed}; try another --seed or a lower --temperature`,
    );
  const audio = m.speech.decode(units, {
    length: units.length * m.speech.samplesPerUnit,
    vocoder: FAST_VOCODER,
  });
  return {
    audio,
    sampleRate: m.speech.features.sampleRate,
    units: units.length,
    chunks: inputs.length,
    finishReason: stopped ? 'stop' : 'length',
    decodeSeconds: (t1 - t0) / 1000,
    vocoderSeconds: (performance.now() - t1) / 1000,
  };
}
