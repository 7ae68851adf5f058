/**
 * Audio for `zipper transcribe`: a WAV file (any PCM or float encoding, rate and channel count;
 * mixed to mono and resampled to the speech tokenizer's rate), refused with a message when it is
 * not a WAV, larger than MAX_WAV_BYTES, longer than MAX_AUDIO_SECONDS or shorter than
 * MIN_AUDIO_SECONDS. Audio longer than one decode (the speech tower's context) is cut into
 * pieces at the quietest unit of each piece's second half, each transcribed alone.
 */
import { statSync } from 'node:fs';
import { prepareAudio, readWavFile, WavError, type WavAudio } from '@zipper/tokenizers';
import { fsReason } from '../args.js';
import { UsageError } from '../command.js';

/** Longest audio per file, in seconds (longer: refused, with the command that splits it). */
export const MAX_AUDIO_SECONDS = 30;
/** Shortest audio per file: one unit of speech is 20 ms; below 0.1 s there is no word to hear. */
export const MIN_AUDIO_SECONDS = 0.1;
/** Largest WAV file read: 30 s of 8-channel 96 kHz 32-bit audio is 92 MB; the limit refuses before reading. */
export const MAX_WAV_BYTES = 100 * 2 ** 20;

/** A WAV file that passed the checks, as read. */
export interface CheckedAudio {
  readonly file: string;
  readonly wav: WavAudio;
  readonly seconds: number;
}

/** Audio at the speech tokenizer's rate. */
export interface AudioInput {
  readonly file: string;
  /** Mono samples at `sampleRate`. */
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly seconds: number;
}

/** Reads and checks `file`, or throws a UsageError that says what is wrong and what to do. */
export function readAudioInput(file: string): CheckedAudio {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UsageError(`${file} is not a file; pass WAV files`);
    size = st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${file}: ${fsReason(e)}`);
  }
  if (size > MAX_WAV_BYTES)
    throw new UsageError(
      `${file} is ${(size / 2 ** 20).toFixed(1)} MB, above the limit of ${MAX_WAV_BYTES / 2 ** 20} MB (audio longer than ${MAX_AUDIO_SECONDS} s is refused); cut it first, e.g. \`sox ${file} part.wav trim 0 ${MAX_AUDIO_SECONDS} : newfile : restart\``,
    );
  let audio;
  try {
    audio = readWavFile(file, { maxBytes: MAX_WAV_BYTES });
  } catch (e) {
    if (e instanceof WavError) throw new UsageError(`${file} is not a WAV file zipper can read: ${e.message}`);
    if ((e as NodeJS.ErrnoException)?.code) throw new UsageError(`cannot read ${file}: ${fsReason(e)}`);
    throw e;
  }
  const seconds = (audio.channels[0]?.length ?? 0) / audio.sampleRate;
  if (seconds > MAX_AUDIO_SECONDS)
    throw new UsageError(
      `${file} is ${seconds.toFixed(1)} s long, above the limit of ${MAX_AUDIO_SECONDS} s per file; cut it into pieces first, e.g. \`sox ${file} part.wav trim 0 ${MAX_AUDIO_SECONDS} : newfile : restart\`, and transcribe the pieces`,
    );
  if (seconds < MIN_AUDIO_SECONDS)
    throw new UsageError(`${file} holds ${seconds.toFixed(3)} s of audio, below ${MIN_AUDIO_SECONDS} s: there is nothing to transcribe`);
  return { file, wav: audio, seconds };
}

/** Mono audio at `sampleRate` Hz (mixed down, resampled). */
export function atRate(a: CheckedAudio, sampleRate: number): AudioInput {
  let samples: Float32Array;
  try {
    samples = prepareAudio(a.wav, sampleRate);
  } catch (e) {
    if (e instanceof WavError) throw new UsageError(`${a.file}: ${e.message}`);
    throw e;
  }
  return { file: a.file, samples, sampleRate, seconds: a.seconds };
}

/**
 * `units` (of `samples`, `samplesPerUnit` each) in pieces of at most `max` units: each cut at the
 * unit of least energy in the second half of the piece (a pause between words, where there is one).
 */
export function splitUnits(units: Uint16Array, samples: Float32Array, samplesPerUnit: number, max: number): Uint16Array[] {
  if (units.length <= max) return [units];
  const energy = (u: number): number => {
    let e = 0;
    const end = Math.min(samples.length, (u + 1) * samplesPerUnit);
    for (let i = u * samplesPerUnit; i < end; i++) e += samples[i]! * samples[i]!;
    return e;
  };
  const out: Uint16Array[] = [];
  let start = 0;
  while (units.length - start > max) {
    let cut = start + max;
    let best = Infinity;
    for (let u = start + Math.ceil(max / 2); u < start + max; u++) {
      const e = energy(u);
      if (e < best) [best, cut] = [e, u + 1];
    }
    out.push(units.subarray(start, cut));
    start = cut;
  }
  out.push(units.subarray(start));
  return out;
}
