/**
 * Log-mel features: audio (mono, at the config's rate) -> [T, M] natural-log mel energies,
 * ln(max(W |STFT|^2, logFloor)).
 *
 * Legend: T frames, M mel bands.
 */
import type { LogMelConfig } from './config.js';
import { melFilterbank, applyFilterbank, type MelFilterbank } from './mel.js';
import { forEachFrame } from './stft.js';
import { resample } from './resample.js';
import { checkSampleRate, toMono, type WavAudio } from './wav.js';

/** Row-major frames of features: data[t * dim + d]. */
export interface FeatureFrames {
  readonly data: Float32Array;
  readonly frames: number;
  readonly dim: number;
}

const banks = new Map<string, MelFilterbank>();

/** The (cached) filterbank of a config. */
export function filterbankOf(c: LogMelConfig): MelFilterbank {
  const key = `${c.sampleRate}:${c.nFft}:${c.nMels}:${c.fMin}:${c.fMax}`;
  let fb = banks.get(key);
  if (!fb) banks.set(key, (fb = melFilterbank(c)));
  return fb;
}

/** Log-mel spectrogram of mono audio already at `c.sampleRate`. */
export function logMel(x: Float32Array, c: LogMelConfig): FeatureFrames {
  const fb = filterbankOf(c);
  const M = c.nMels;
  const T = 1 + Math.floor(x.length / c.hopLength);
  const data = new Float32Array(T * M);
  const power = new Float64Array(c.nFft / 2 + 1);
  const mel = new Float64Array(M);
  const floor = c.logFloor;
  forEachFrame(x, c, (t, spec) => {
    for (let k = 0; k < power.length; k++) power[k] = spec[2 * k]! * spec[2 * k]! + spec[2 * k + 1]! * spec[2 * k + 1]!;
    applyFilterbank(fb, power, 0, mel, 0);
    const o = t * M;
    for (let m = 0; m < M; m++) data[o + m] = Math.log(mel[m]! > floor ? mel[m]! : floor);
  });
  return { data, frames: T, dim: M };
}

/**
 * Mono audio at `sampleRate`: channels averaged, then band-limited resampling if needed. The
 * audio's rate must be a readable WAV rate (`checkSampleRate`), so a bogus rate cannot blow a
 * short clip up to hours of samples.
 */
export function prepareAudio(audio: WavAudio, sampleRate: number): Float32Array {
  checkSampleRate(audio.sampleRate, "the audio's sample rate");
  const mono = toMono(audio);
  return audio.sampleRate === sampleRate ? mono : resample(mono, audio.sampleRate, sampleRate);
}
