/**
 * Configs of the speech tokenizer: log-mel features, k-means units and the Griffin-Lim decoder.
 * Each is a readonly type with a `resolve...` function that fills defaults, never mutates its
 * input and throws `TokenizerConfigError` naming the broken invariant.
 */
import { TokenizerConfigError } from '../errors.js';
import type { GriffinLimInit } from './griffin-lim.js';

/** Log-mel spectrogram parameters (stored in the tokenizer file). */
export interface LogMelConfig {
  /** Audio is resampled to this rate before anything else (Hz). */
  readonly sampleRate: number;
  /** FFT size (power of two, >= winLength). */
  readonly nFft: number;
  /** Hann window length in samples (zero-padded to nFft, centred). */
  readonly winLength: number;
  /** Hop between frames in samples; the frame rate is sampleRate / hopLength. */
  readonly hopLength: number;
  readonly nMels: number;
  readonly fMin: number;
  readonly fMax: number;
  /** Mel energies are clamped to at least this before the natural log. */
  readonly logFloor: number;
}

/** Discrete units: k-means centroids over `stack` adjacent log-mel frames. */
export interface UnitConfig {
  readonly numUnits: number;
  /** Adjacent frames concatenated into one unit vector; units per second = frame rate / stack. */
  readonly stack: number;
}

/** Units -> audio: mel inversion and Griffin-Lim phase reconstruction. */
export interface VocoderConfig {
  /** 'nnls' (non-negative least squares, multiplicative updates) or 'pinv' (clipped pseudo-inverse). */
  readonly inversion: 'nnls' | 'pinv';
  readonly nnlsIterations: number;
  readonly griffinLimIterations: number;
  /** Fast Griffin-Lim momentum (Perraudin et al. 2013); 0 gives the classic algorithm. */
  readonly momentum: number;
  /** Seed of the initial random phase. */
  readonly seed: number;
  /**
   * Griffin-Lim's starting phase: 'random' (seeded) or 'pghi' (phase gradient heap integration of
   * the magnitudes, pghi.ts). Absent in files written before it: 'random'.
   */
  readonly phaseInit: GriffinLimInit;
  /**
   * Radius r of a triangular smoothing of the decoded log-mel along time (weights r+1-|dt|,
   * |dt| <= r); 0 keeps the piecewise-constant centroid frames.
   */
  readonly smoothing: number;
}

export const DEFAULT_LOG_MEL: LogMelConfig = {
  sampleRate: 16000,
  nFft: 512,
  winLength: 400,
  hopLength: 160,
  nMels: 40,
  fMin: 0,
  fMax: 8000,
  logFloor: 1e-5,
};

export const DEFAULT_UNITS: UnitConfig = { numUnits: 512, stack: 2 };

/**
 * The vocoder setting of interactive synthesis (the apps: `zipper speak`, the web page): Griffin-Lim
 * started from the phase gradient heap integration of the magnitudes (pghi.ts) instead of random
 * phase, 16 iterations. Over 797 held-out slt words (two sets) pocketsphinx makes 301 errors on its
 * resynthesis, against 302 for the tokenizer's default (random phase, 64 iterations) and 299 for
 * random phase with 48 (the apps' setting before it), at 0.45x the vocoder time in `zipper bench tts`
 * (tools/speech/RESULTS.md, "Phase from the magnitudes").
 */
export const FAST_VOCODER: Readonly<Pick<VocoderConfig, 'griffinLimIterations' | 'phaseInit'>> = {
  griffinLimIterations: 16,
  phaseInit: 'pghi',
};

export const DEFAULT_VOCODER: VocoderConfig = {
  inversion: 'nnls',
  nnlsIterations: 40,
  griffinLimIterations: 64,
  momentum: 0.99,
  seed: 0,
  smoothing: 0,
  phaseInit: 'random',
};

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new TokenizerConfigError(`${name} must be a positive integer, got ${v}`);
}

export function resolveLogMelConfig(partial: Partial<LogMelConfig> = {}): LogMelConfig {
  const sampleRate = partial.sampleRate ?? DEFAULT_LOG_MEL.sampleRate;
  const c: LogMelConfig = { ...DEFAULT_LOG_MEL, fMax: sampleRate / 2, ...partial, sampleRate };
  positiveInt('sampleRate', c.sampleRate);
  positiveInt('nFft', c.nFft);
  positiveInt('winLength', c.winLength);
  positiveInt('hopLength', c.hopLength);
  positiveInt('nMels', c.nMels);
  if ((c.nFft & (c.nFft - 1)) !== 0 || c.nFft < 16) throw new TokenizerConfigError(`nFft must be a power of two >= 16, got ${c.nFft}`);
  if (c.winLength > c.nFft) throw new TokenizerConfigError(`winLength (${c.winLength}) must be <= nFft (${c.nFft})`);
  if (c.hopLength > c.winLength)
    throw new TokenizerConfigError(`hopLength (${c.hopLength}) must be <= winLength (${c.winLength}) or frames leave gaps`);
  if (!(c.fMin >= 0 && c.fMin < c.fMax && c.fMax <= c.sampleRate / 2)) {
    throw new TokenizerConfigError(`need 0 <= fMin < fMax <= sampleRate / 2, got fMin=${c.fMin} fMax=${c.fMax} sampleRate=${c.sampleRate}`);
  }
  if (c.nMels > c.nFft / 2 + 1) throw new TokenizerConfigError(`nMels (${c.nMels}) must be <= nFft / 2 + 1 (${c.nFft / 2 + 1})`);
  if (!(c.logFloor > 0)) throw new TokenizerConfigError(`logFloor must be > 0, got ${c.logFloor}`);
  return c;
}

export function resolveUnitConfig(partial: Partial<UnitConfig> = {}): UnitConfig {
  const c: UnitConfig = { ...DEFAULT_UNITS, ...partial };
  positiveInt('numUnits', c.numUnits);
  positiveInt('stack', c.stack);
  if (c.numUnits > 65536) throw new TokenizerConfigError(`numUnits must be <= 65536 (ids are stored as uint16), got ${c.numUnits}`);
  return c;
}

export function resolveVocoderConfig(partial: Partial<VocoderConfig> = {}): VocoderConfig {
  const c: VocoderConfig = { ...DEFAULT_VOCODER, ...partial };
  if (c.inversion !== 'nnls' && c.inversion !== 'pinv')
    throw new TokenizerConfigError(`inversion must be 'nnls' or 'pinv', got ${String(c.inversion)}`);
  positiveInt('nnlsIterations', c.nnlsIterations);
  if (!Number.isInteger(c.griffinLimIterations) || c.griffinLimIterations < 0) {
    throw new TokenizerConfigError(`griffinLimIterations must be an integer >= 0, got ${c.griffinLimIterations}`);
  }
  if (!(c.momentum >= 0 && c.momentum < 1)) throw new TokenizerConfigError(`momentum must be in [0, 1), got ${c.momentum}`);
  if (!Number.isInteger(c.smoothing) || c.smoothing < 0)
    throw new TokenizerConfigError(`smoothing must be an integer >= 0, got ${c.smoothing}`);
  if (!Number.isInteger(c.seed)) throw new TokenizerConfigError(`seed must be an integer, got ${c.seed}`);
  if (c.phaseInit !== 'random' && c.phaseInit !== 'pghi')
    throw new TokenizerConfigError(`phaseInit must be 'random' or 'pghi', got ${String(c.phaseInit)}`);
  return c;
}

/**
 * Feature + unit configs for a target unit rate: hopLength = sampleRate / (unitRate * stack),
 * the window 2.5 hops (25 ms at 100 frames/s), nFft the next power of two.
 */
export function logMelForUnitRate(unitRate: number, stack: number, base: Partial<LogMelConfig> = {}): LogMelConfig {
  const sampleRate = base.sampleRate ?? DEFAULT_LOG_MEL.sampleRate;
  const hop = sampleRate / (unitRate * stack);
  if (!Number.isInteger(hop)) {
    throw new TokenizerConfigError(
      `sampleRate / (unitRate * stack) must be an integer hop, got ${sampleRate} / (${unitRate} * ${stack}) = ${hop}`,
    );
  }
  const winLength = base.winLength ?? Math.round(hop * 2.5);
  let nFft = 16;
  while (nFft < winLength) nFft *= 2;
  return resolveLogMelConfig({ ...base, sampleRate, hopLength: hop, winLength, nFft: base.nFft ?? nFft });
}
