/** The synthetic speakers. Voice id = "<engine>/<voice>", as written in the manifests. */
export interface Voice {
  readonly id: string;
  readonly engine: 'flite' | 'espeak-ng';
  /** flite `-voice` name, or espeak-ng `-v` voice with an optional "+variant". */
  readonly name: string;
}

const flite = (name: string): Voice => ({ id: `flite/${name}`, engine: 'flite', name });
const espeak = (name: string): Voice => ({ id: `espeak-ng/${name}`, engine: 'espeak-ng', name });

/** The TTS target voice: one clear speaker (CMU Arctic SLT, US English female, 16 kHz flite). */
export const TTS_VOICE: Voice = flite('slt');

/** Voices used in training splits, dev and test-clean. */
export const SEEN_VOICES: readonly Voice[] = [
  TTS_VOICE,
  flite('rms'),
  flite('awb'),
  flite('kal16'),
  espeak('en-us'),
  espeak('en-us+f3'),
  espeak('en-gb-x-rp+m3'),
  espeak('en-gb+f2'),
];

/**
 * Voices of test-other only: accents and variants (including espeak-ng's Klatt synthesizer) that
 * no training split uses.
 */
export const UNSEEN_VOICES: readonly Voice[] = [
  espeak('en-gb-scotland+f4'),
  espeak('en-029+m5'),
  espeak('en-us-nyc+klatt'),
  espeak('en-gb-x-gbclan+f5'),
];

/**
 * Voices of dev-other only (`zipper data build --dev-other`): an accent no other split uses
 * (West Midlands), a Klatt variant and variants no other split uses, so that a dev set stands for
 * test-other's unseen voices without sharing any of them.
 */
export const DEV_OTHER_VOICES: readonly Voice[] = [
  espeak('en-gb-x-gbcwmd+m7'),
  espeak('en-gb-x-gbcwmd+f1'),
  espeak('en-us+klatt3'),
  espeak('en-gb+m6'),
];

/** Voices for ASR renderings of aligned pairs: the seen voices other than the TTS target (which renders every aligned sentence anyway). */
export const ASR_VOICES: readonly Voice[] = SEEN_VOICES.filter((v) => v.id !== TTS_VOICE.id);
