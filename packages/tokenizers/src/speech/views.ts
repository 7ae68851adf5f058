/**
 * Views of one recording for test-time voting: the same audio delayed by a few samples (the
 * feature frames fall elsewhere, so the units differ) or played a few percent faster or slower
 * (band-limited resampling at the same nominal rate: pitch and tempo change together, as sox's
 * `speed`). Each view is encoded and decoded alone; a recognizer combines the transcripts
 * (@zipper/eval `voteTranscripts`). `AUDIO_VIEWS` is the fixed ladder the apps take the first k of.
 */
import { TokenizerConfigError } from '../errors.js';
import { resample } from './resample.js';

export interface AudioView {
  /** Samples of silence put before the audio (a delay). */
  readonly shift: number;
  /** Playback speed: 1 leaves the audio as is; 1.03 makes it 3% shorter and higher. */
  readonly speed: number;
}

/** Largest `shift`: one second at 16 kHz; a view is a small change of the same audio. */
export const MAX_VIEW_SHIFT = 16000;
/** `speed` stays within [1 / MAX_VIEW_SPEED, MAX_VIEW_SPEED]. */
export const MAX_VIEW_SPEED = 1.25;

export const IDENTITY_VIEW: AudioView = Object.freeze({ shift: 0, speed: 1 });

/**
 * The ladder of views the apps vote over (`--views k` takes the first k), chosen by rule N
 * (docs/eval.md): the audio as is, delayed half a 10 ms hop, 3% slower and faster, then the other
 * delays within one hop.
 */
export const AUDIO_VIEWS: readonly AudioView[] = Object.freeze(
  [
    IDENTITY_VIEW,
    { shift: 80, speed: 1 },
    { shift: 0, speed: 0.97 },
    { shift: 0, speed: 1.03 },
    { shift: 40, speed: 1 },
    { shift: 120, speed: 1 },
    { shift: 160, speed: 1 },
  ].map((v) => Object.freeze(v)),
);

/** `partial` over the identity, checked (TokenizerConfigError naming the field). */
export function resolveAudioView(partial: Partial<AudioView> = {}): AudioView {
  const v = { ...IDENTITY_VIEW, ...partial };
  if (!Number.isInteger(v.shift) || v.shift < 0 || v.shift > MAX_VIEW_SHIFT)
    throw new TokenizerConfigError(`a view's shift must be an integer number of samples in [0, ${MAX_VIEW_SHIFT}], got ${v.shift}`);
  if (!(v.speed >= 1 / MAX_VIEW_SPEED && v.speed <= MAX_VIEW_SPEED))
    throw new TokenizerConfigError(`a view's speed must be in [${1 / MAX_VIEW_SPEED}, ${MAX_VIEW_SPEED}], got ${v.speed}`);
  return Object.freeze(v);
}

/** The first `k` views of `AUDIO_VIEWS` (TokenizerConfigError outside [1, AUDIO_VIEWS.length]). */
export function audioViews(k: number): readonly AudioView[] {
  if (!Number.isInteger(k) || k < 1 || k > AUDIO_VIEWS.length)
    throw new TokenizerConfigError(`the number of views must be an integer in [1, ${AUDIO_VIEWS.length}], got ${k}`);
  return AUDIO_VIEWS.slice(0, k);
}

/**
 * Mono audio `x` as `view` hears it: resampled by `speed` (read as if recorded at speed x the
 * rate; round(n / speed) samples), then `shift` zeros put before it. The identity returns a copy.
 */
export function viewAudio(x: Float32Array, view: AudioView): Float32Array {
  const v = resolveAudioView(view);
  // the rate cancels: only the ratio of the two matters to the resampler
  const played = v.speed === 1 ? x : resample(x, v.speed * 16000, 16000);
  const out = new Float32Array(v.shift + played.length);
  out.set(played, v.shift);
  return out;
}
