/**
 * The manifest records of a data build: one JSON object per line of a `.jsonl` manifest.
 * `path` is relative to the data directory; `sha256` is the WAV file's; `duration = samples /
 * sampleRate` seconds. Audio is 16-bit PCM mono WAV.
 */

/** Fields every audio record has. */
export interface AudioRecordBase {
  readonly id: string;
  readonly voice: string;
  /** Seconds (samples / sampleRate). */
  readonly duration: number;
  readonly sampleRate: number;
  readonly samples: number;
  /** Relative to the data directory, e.g. `audio/dev/dev-000003.wav`. */
  readonly path: string;
  /** SHA-256 (hex) of the WAV file's bytes. */
  readonly sha256: string;
}

/**
 * speech-only: unlabeled speech. No `text` (training code cannot read transcripts), only the
 * transcript's SHA-256, so a test can prove the sentence is in no other split.
 * (The `?: never` fields make every field readable on the `ManifestRecord` union.)
 */
export interface SpeechOnlyRecord extends AudioRecordBase {
  readonly textSha256: string;
  readonly text?: never;
  readonly tempo?: never;
  readonly snrDb?: never;
  readonly noise?: never;
}

/** aligned-asr, aligned-tts, dev, test-clean: audio with its transcript (no effects). */
export interface TranscribedRecord extends AudioRecordBase {
  readonly text: string;
  readonly textSha256?: never;
  readonly tempo?: never;
  readonly snrDb?: never;
  readonly noise?: never;
}

export type NoiseKind = 'white' | 'pink';

/**
 * test-other (unseen voices), aligned-noisy and dev-noisy (seen voices; builds made with --noisy):
 * a tempo change and additive noise at `snrDb`.
 */
export interface TestOtherRecord extends AudioRecordBase {
  readonly text: string;
  readonly textSha256?: never;
  readonly tempo: number;
  readonly snrDb: number;
  readonly noise: NoiseKind;
}

/** A record with a transcript (every split but speech-only). */
export type TextRecord = TranscribedRecord | TestOtherRecord;

/** Any manifest line. */
export type ManifestRecord = SpeechOnlyRecord | TranscribedRecord | TestOtherRecord;

/** The record type of each kind (see `recordKindOf` in splits.ts). */
export interface RecordOfKind {
  readonly 'speech-only': SpeechOnlyRecord;
  readonly transcribed: TranscribedRecord;
  readonly 'test-other': TestOtherRecord;
}

export function hasText(r: ManifestRecord): r is TextRecord {
  return typeof r.text === 'string';
}

/** Serializes records as JSONL (one line each, trailing newline; empty string for none). */
export function toJsonl(records: readonly ManifestRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}
