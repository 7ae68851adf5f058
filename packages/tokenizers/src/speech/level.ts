/**
 * The input's level fitted to the codebook. Log-mel units are not level-normalized: a recording
 * 6 dB quieter than the training audio moves every feature by ln(10^-0.6) and lands on other
 * centroids (docs/eval.md, rule O: dev 0.095 -> 0.51). `fitLevel` tries whole-dB gains and keeps
 * the one whose unit vectors lie nearest their centroids (the mean squared distance of
 * `SpeechTokenizer.quantize`): audio at the level the codebook was trained at fits 0 dB, the same
 * audio 6 dB quieter fits +6.
 */
import { TokenizerConfigError } from '../errors.js';
import type { SpeechTokenizer } from './tokenizer.js';

/** Largest `range` of `fitLevel` in dB: a gain of 100 between the quietest and loudest tried. */
export const MAX_LEVEL_RANGE_DB = 20;

export interface LevelFit {
  /** The gain in whole dB (in [-range, range]) the audio is best encoded at; 0: as is. */
  readonly gainDb: number;
  /** The mean squared distance of the unit vectors to their centroids at `gainDb`. */
  readonly meanSquaredDistance: number;
  /** The same at 0 dB (the audio as is). */
  readonly asIs: number;
  /** The audio at `gainDb` (the input itself at 0 dB): what the search and the views hear. */
  readonly samples: Float32Array;
  /** Its units (`tok.encode(samples)`, from the fit's own encoding: no need to encode it again). */
  readonly ids: Uint16Array;
}

/** The gains `fitLevel` tries: whole dB from -down to +up. */
export interface LevelRange {
  /** The most dB the audio may be turned down (0: never quieter). */
  readonly down: number;
  /** The most dB the audio may be turned up. */
  readonly up: number;
}

/**
 * A range of `fitLevel` checked: R is +-R; each end an integer number of dB in [0, MAX_LEVEL_RANGE_DB]
 * (TokenizerConfigError otherwise).
 */
export function resolveLevelRange(range: number | LevelRange): LevelRange {
  const r = typeof range === 'number' ? { down: range, up: range } : range;
  for (const [end, v] of [
    ['range', r.up],
    ['range down', r.down],
  ] as const)
    if (!Number.isInteger(v) || v < 0 || v > MAX_LEVEL_RANGE_DB)
      throw new TokenizerConfigError(`the level ${end} must be an integer number of dB in [0, ${MAX_LEVEL_RANGE_DB}], got ${v}`);
  return Object.freeze({ down: r.down, up: r.up });
}

/** Mono audio `x` scaled by `gainDb` (a new array; float, nothing clipped). */
export function scaleAudio(x: Float32Array, gainDb: number): Float32Array {
  if (!Number.isFinite(gainDb)) throw new TokenizerConfigError(`a gain must be a finite number of dB, got ${gainDb}`);
  const g = 10 ** (gainDb / 20);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * g;
  return out;
}

/**
 * The whole-dB gain within `range` (R: +-R; `{ down, up }`: -down to +up) at which `tok` encodes mono
 * audio `x` (at its rate) with the least mean squared distance to the centroids: 0, +1, -1, +2, -2,
 * ... tried in that order, a gain kept only if strictly better, so ties keep the smaller |gain|
 * (silence fits 0). Costs down + up + 1 encodings. Range 0 encodes once and fits 0.
 */
export function fitLevel(tok: SpeechTokenizer, x: Float32Array, range: number | LevelRange): LevelFit {
  const { down, up } = resolveLevelRange(range);
  const first = tok.quantize(x);
  let best = { gainDb: 0, meanSquaredDistance: first.meanSquaredDistance, samples: x, ids: first.ids };
  for (let step = 1; step <= Math.max(down, up); step++)
    for (const gainDb of [...(step <= up ? [step] : []), ...(step <= down ? [-step] : [])]) {
      const samples = scaleAudio(x, gainDb);
      const q = tok.quantize(samples);
      if (q.meanSquaredDistance < best.meanSquaredDistance)
        best = { gainDb, meanSquaredDistance: q.meanSquaredDistance, samples, ids: q.ids };
    }
  return { ...best, asIs: first.meanSquaredDistance };
}
