/**
 * The speech tokenizer: audio <-> discrete units.
 *
 *   encode: audio -> log-mel [T, M] -> stack s frames [U, s*M] -> nearest centroid -> ids [U]
 *   decode: ids [U] -> centroids [U, s*M] = log-mel [U*s, M] -> exp -> mel inversion (NNLS or
 *           pseudo-inverse) -> linear magnitude [U*s, Fb] -> Griffin-Lim -> audio
 *
 * Legend: T frames, M mel bands, s stack, U units (T / s rounded up), K units in the codebook,
 * Fb = nFft / 2 + 1 bins.
 */
import { TokenIdError, TokenizerConfigError, UnitLengthError } from '../errors.js';
import {
  resolveLogMelConfig,
  resolveUnitConfig,
  resolveVocoderConfig,
  type LogMelConfig,
  type UnitConfig,
  type VocoderConfig,
} from './config.js';
import { logMel, filterbankOf, prepareAudio, type FeatureFrames } from './features.js';
import { stackFrames, trainKMeans } from './kmeans.js';
import { CentroidIndex } from './centroid-index.js';
import { invertMelFrame, melPseudoInverse } from './mel.js';
import { griffinLim } from './griffin-lim.js';
import type { WavAudio } from './wav.js';

export interface SpeechTokenizerTrainOptions {
  readonly features?: Partial<LogMelConfig>;
  readonly units?: Partial<UnitConfig>;
  readonly vocoder?: Partial<VocoderConfig>;
  readonly seed?: number;
  /** Lloyd iterations (default 15). */
  readonly iterations?: number;
  /** k-means trains on a uniform sample of at most this many unit vectors (default 40,000). */
  readonly maxFrames?: number;
  readonly onIteration?: (iteration: number, meanSquaredDistance: number) => void;
}

/** How a tokenizer was trained (stored with it, for reproducibility). */
export interface SpeechTrainingInfo {
  readonly seed: number;
  readonly iterations: number;
  readonly maxFrames: number;
  readonly trainFrames: number;
  readonly meanSquaredDistance: readonly number[];
  readonly [key: string]: unknown;
}

export interface UnitDecodeOptions {
  /**
   * Cut or zero-pad the output to this many samples (e.g. the original length). At most
   * `maxDecodeLength(units)`: what the units can stand for, so a damaged or hostile count cannot
   * allocate gigabytes (`UnitLengthError`).
   */
  readonly length?: number;
  readonly vocoder?: Partial<VocoderConfig>;
}

/** Triangular smoothing along time of [T, M] frames (radius r; edges renormalised). */
export function smoothFrames(f: FeatureFrames, r: number): FeatureFrames {
  if (r === 0) return f;
  const { frames: T, dim: M, data } = f;
  const out = new Float32Array(data.length);
  for (let t = 0; t < T; t++) {
    let wsum = 0;
    for (let dt = -r; dt <= r; dt++) {
      const u = t + dt;
      if (u < 0 || u >= T) continue;
      const w = r + 1 - Math.abs(dt);
      wsum += w;
      for (let m = 0; m < M; m++) out[t * M + m]! += w * data[u * M + m]!;
    }
    for (let m = 0; m < M; m++) out[t * M + m]! /= wsum;
  }
  return { data: out, frames: T, dim: M };
}

export class SpeechTokenizer {
  readonly features: LogMelConfig;
  readonly units: UnitConfig;
  readonly vocoder: VocoderConfig;
  /** [K, s*M] row-major. */
  readonly centroids: Float32Array;
  readonly training: SpeechTrainingInfo | undefined;
  private index: CentroidIndex | undefined;
  private pinv: Float64Array | undefined;
  /** Magnitude rows ([Fb]) of each (unit id, stacked frame) decoded so far, per inversion setting. */
  private magnitudeMemo = new Map<string, Map<number, Float64Array>>();

  constructor(spec: {
    features: Partial<LogMelConfig>;
    units: Partial<UnitConfig>;
    vocoder?: Partial<VocoderConfig>;
    centroids: Float32Array;
    training?: SpeechTrainingInfo;
  }) {
    this.features = resolveLogMelConfig(spec.features);
    this.units = resolveUnitConfig(spec.units);
    this.vocoder = resolveVocoderConfig(spec.vocoder);
    const expected = this.units.numUnits * this.dim;
    if (spec.centroids.length !== expected) {
      throw new TokenizerConfigError(
        `centroids hold ${spec.centroids.length} values, expected numUnits x stack x nMels = ${this.units.numUnits} x ${this.units.stack} x ${this.features.nMels} = ${expected}`,
      );
    }
    this.centroids = spec.centroids;
    this.training = spec.training;
  }

  /** Width of a unit vector: stack x nMels. */
  get dim(): number {
    return this.units.stack * this.features.nMels;
  }

  /** Units per second of audio. */
  get unitRate(): number {
    return this.features.sampleRate / (this.features.hopLength * this.units.stack);
  }

  /** Samples per unit at the tokenizer's rate. */
  get samplesPerUnit(): number {
    return this.features.hopLength * this.units.stack;
  }

  /** Trains the codebook on mono clips already at `features.sampleRate` (see `prepareAudio`). */
  static train(clips: readonly Float32Array[], o: SpeechTokenizerTrainOptions = {}): SpeechTokenizer {
    const features = resolveLogMelConfig(o.features);
    const units = resolveUnitConfig(o.units);
    const vocoder = resolveVocoderConfig(o.vocoder);
    const seed = o.seed ?? 0;
    const iterations = o.iterations ?? 15;
    const maxFrames = o.maxFrames ?? 40_000;
    const stacked = clips.map((x) => {
      const f = logMel(x, features);
      return stackFrames(f.data, f.frames, f.dim, units.stack);
    });
    const D = units.stack * features.nMels;
    const N = stacked.reduce((a, s) => a + s.frames, 0);
    const all = new Float32Array(N * D);
    let at = 0;
    for (const s of stacked) {
      all.set(s.data, at);
      at += s.data.length;
    }
    const km = trainKMeans(all, N, D, { k: units.numUnits, iterations, seed, maxSamples: maxFrames, onIteration: o.onIteration });
    return new SpeechTokenizer({
      features,
      units,
      vocoder,
      centroids: km.centroids,
      training: { seed, iterations, maxFrames, trainFrames: N, meanSquaredDistance: km.history },
    });
  }

  /** Log-mel features of mono audio at the tokenizer's rate, [T, M]. */
  featurize(x: Float32Array): FeatureFrames {
    return logMel(x, this.features);
  }

  /** Unit vectors ([U, s*M]) of mono audio at the tokenizer's rate. */
  unitVectors(x: Float32Array): FeatureFrames {
    const f = this.featurize(x);
    return stackFrames(f.data, f.frames, f.dim, this.units.stack);
  }

  /**
   * Mono audio at the tokenizer's rate -> unit ids (ceil((1 + floor(n / hop)) / stack) of them):
   * the exact nearest centroid, found by `CentroidIndex` (bounds prune most centroids).
   */
  encode(x: Float32Array): Uint16Array {
    return this.quantize(x).ids;
  }

  /**
   * `encode`, with the mean over units of the squared distance of each unit vector to its centroid
   * (how well the codebook fits the audio; `fitLevel` minimizes it over gains).
   */
  quantize(x: Float32Array): { readonly ids: Uint16Array; readonly meanSquaredDistance: number } {
    const v = this.unitVectors(x);
    const ids = new Uint16Array(v.frames);
    const distances = new Float64Array(v.frames);
    this.index ??= new CentroidIndex(this.centroids, this.units.numUnits, this.units.stack, this.features.nMels);
    this.index.nearest(v.data, v.frames, ids, distances);
    let sum = 0;
    for (let i = 0; i < v.frames; i++) sum += distances[i]!;
    return { ids, meanSquaredDistance: v.frames > 0 ? sum / v.frames : 0 };
  }

  /** Exact scores computed per encoded vector so far (the brute force computes numUnits). */
  get searchStats(): { exactPerVector: number } | undefined {
    return this.index?.stats();
  }

  /** Any WAV (channels, rate) -> unit ids: downmix, resample, encode. */
  encodeAudio(audio: WavAudio): Uint16Array {
    return this.encode(prepareAudio(audio, this.features.sampleRate));
  }

  /** The log-mel frames the units stand for, [U*s, M]. */
  unitsToLogMel(ids: ArrayLike<number>): FeatureFrames {
    const K = this.units.numUnits;
    const D = this.dim;
    const data = new Float32Array(ids.length * D);
    for (let u = 0; u < ids.length; u++) {
      const id = ids[u]!;
      if (!Number.isInteger(id) || id < 0 || id >= K)
        throw new TokenIdError(`unit id ${id} at position ${u} is outside [0, ${K}); was it encoded with a different tokenizer?`);
      data.set(this.centroids.subarray(id * D, id * D + D), u * D);
    }
    return { data, frames: ids.length * this.units.stack, dim: this.features.nMels };
  }

  /** Linear STFT magnitudes ([T, Fb]) from log-mel frames, by mel inversion. */
  logMelToMagnitude(f: FeatureFrames, vocoder: VocoderConfig = this.vocoder): Float64Array {
    const fb = filterbankOf(this.features);
    this.pinv ??= melPseudoInverse(fb);
    const M = fb.nMels;
    const F = fb.nBins;
    const mag = new Float64Array(f.frames * F);
    const mel = new Float64Array(M);
    const scratch = { wty: new Float64Array(F), wx: new Float64Array(M), den: new Float64Array(F) };
    const iters = vocoder.inversion === 'nnls' ? vocoder.nnlsIterations : 0;
    for (let t = 0; t < f.frames; t++) {
      for (let m = 0; m < M; m++) mel[m] = Math.exp(f.data[t * M + m]!);
      invertMelFrame(fb, this.pinv, mel, 0, iters, mag, t * F, scratch);
      for (let k = 0; k < F; k++) mag[t * F + k] = Math.sqrt(mag[t * F + k]!);
    }
    return mag;
  }

  /**
   * `logMelToMagnitude(unitsToLogMel(ids))` with each of the K x s distinct frames inverted once per
   * tokenizer and remembered (mel inversion is per frame, and unsmoothed frames repeat): the same
   * numbers, without the NNLS for frames seen before. [U*s, Fb].
   */
  unitMagnitudes(ids: ArrayLike<number>, vocoder: VocoderConfig = this.vocoder): Float64Array {
    const s = this.units.stack;
    const M = this.features.nMels;
    const F = this.features.nFft / 2 + 1;
    const key = vocoder.inversion === 'nnls' ? `nnls:${vocoder.nnlsIterations}` : 'pinv';
    let memo = this.magnitudeMemo.get(key);
    if (!memo) this.magnitudeMemo.set(key, (memo = new Map()));
    const f = this.unitsToLogMel(ids); // validates the ids
    const mag = new Float64Array(f.frames * F);
    for (let t = 0; t < f.frames; t++) {
      const frame = ids[Math.floor(t / s)]! * s + (t % s);
      let row = memo.get(frame);
      if (!row) memo.set(frame, (row = this.logMelToMagnitude({ data: f.data.subarray(t * M, t * M + M), frames: 1, dim: M }, vocoder)));
      mag.set(row, t * F);
    }
    return mag;
  }

  /**
   * The most samples `units` unit ids can stand for: encoding n samples gives
   * ceil((1 + floor(n / hop)) / s) units, so n < units * samplesPerUnit; one unit more of slack
   * allows for a length measured by other means.
   */
  maxDecodeLength(units: number): number {
    return (units + 1) * this.samplesPerUnit;
  }

  /** Unit ids -> mono audio at the tokenizer's rate ((U*s - 1) * hop samples unless `length`). */
  decode(ids: ArrayLike<number>, o: UnitDecodeOptions = {}): Float32Array {
    if (o.length !== undefined) {
      const max = this.maxDecodeLength(ids.length);
      if (!Number.isInteger(o.length) || o.length < 0 || o.length > max) {
        throw new UnitLengthError(
          `length (the "samples" of a units file) is ${o.length}, but ${ids.length} units at ${this.samplesPerUnit} samples each stand for at most ${max}: it must be an integer in [0, ${max}]; fix it, or leave it out to decode the units' own length`,
        );
      }
    }
    if (ids.length === 0) return new Float32Array(o.length ?? 0);
    const vocoder = resolveVocoderConfig({ ...this.vocoder, ...o.vocoder });
    const f = smoothFrames(this.unitsToLogMel(ids), vocoder.smoothing);
    const mag = vocoder.smoothing === 0 ? this.unitMagnitudes(ids, vocoder) : this.logMelToMagnitude(f, vocoder);
    const natural = Math.max(1, (f.frames - 1) * this.features.hopLength);
    const y = griffinLim(mag, f.frames, this.features, natural, {
      iterations: vocoder.griffinLimIterations,
      momentum: vocoder.momentum,
      seed: vocoder.seed,
      init: vocoder.phaseInit,
    });
    if (o.length === undefined || o.length === y.length) return y;
    const out = new Float32Array(o.length);
    out.set(y.subarray(0, Math.min(o.length, y.length)));
    return out;
  }
}
