/**
 * A data directory written by `zipper data build`: build.json, the text-only split, the JSONL
 * manifests (validated line by line) and the audio they point to (checked against the record).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readWav, type WavAudio } from '@zipper/tokenizers';
import { buildHasSplit, parseBuildInfo, type BuildInfo } from '../build-info.js';
import { AudioMismatchError, DataConfigError, DataDirError, MissingSplitError } from '../errors.js';
import type { AudioRecordBase, RecordOfKind } from '../records.js';
import { BUILD_FILE, manifestFileName, parseManifestFileName, recordKindOf, splitFlag, TEXT_ONLY_FILE, type AudioSplit, type EffectSplit, type RecordKind } from '../splits.js';
import { parseManifest } from '../validate.js';
import { sha256Hex } from '@zipper/common/node';

/** Reads and validates one manifest file; the record kind comes from its name unless given. */
export function readManifest<K extends RecordKind = RecordKind>(file: string, kind?: K): RecordOfKind[K][] {
  const k = kind ?? kindFromName(file);
  return parseManifest(manifestBytes(file).toString('utf8'), k as K, file);
}

function manifestBytes(file: string): Buffer {
  if (!existsSync(file)) throw new DataDirError(`manifest ${file} does not exist; build the data first (npx zipper data build --out DIR)`);
  return readFileSync(file);
}

function kindFromName(file: string): RecordKind {
  const parsed = parseManifestFileName(path.basename(file));
  if (!parsed) throw new DataConfigError(`cannot tell the record kind of ${file} from its name (expected e.g. dev.jsonl, aligned-tts.10pct.jsonl); pass the kind`);
  return recordKindOf(parsed.split);
}

type RecordOfSplit<S extends AudioSplit> = S extends 'speech-only' ? RecordOfKind['speech-only'] : S extends EffectSplit ? RecordOfKind['test-other'] : RecordOfKind['transcribed'];

export class DataDir {
  private constructor(
    /** Absolute path of the directory. */
    readonly dir: string,
    readonly build: BuildInfo,
    /** SHA-256 of build.json's bytes: names this exact build (e.g. in a training run's run.json). */
    readonly buildSha256: string,
  ) {}

  /** Opens a build directory; throws DataDirError when build.json is missing or malformed. */
  static open(dir: string): DataDir {
    const abs = path.resolve(dir);
    const file = path.join(abs, BUILD_FILE);
    if (!existsSync(file)) throw new DataDirError(`${abs} has no ${BUILD_FILE}; is it the --out of \`npx zipper data build\`? (build it, or wait for a running build to finish)`);
    const bytes = readFileSync(file);
    return new DataDir(abs, parseBuildInfo(bytes.toString('utf8'), file), sha256Hex(bytes));
  }

  /** The records of a split (aligned splits need a fraction: 1, 10 or 100), validated. */
  records<S extends AudioSplit>(split: S, fraction?: number): RecordOfSplit<S>[] {
    this.needOptionalSplit(split);
    return readManifest(path.join(this.dir, manifestFileName(split, fraction)), recordKindOf(split)) as RecordOfSplit<S>[];
  }

  /**
   * A split's manifest: its file name, its records (validated) and the sha256 of the bytes they
   * were read from (one read: an evaluation records which manifest it scored).
   */
  manifest<S extends AudioSplit>(split: S, fraction?: number): { readonly file: string; readonly records: RecordOfSplit<S>[]; readonly sha256: string } {
    this.needOptionalSplit(split);
    const file = manifestFileName(split, fraction);
    const abs = path.join(this.dir, file);
    const bytes = manifestBytes(abs);
    return { file, records: parseManifest(bytes.toString('utf8'), recordKindOf(split), abs) as RecordOfSplit<S>[], sha256: sha256Hex(bytes) };
  }

  /** A build made without a split's flag (--noisy, --tts-voice-sets, --dev-other) lacks that split: say so instead of "build the data first". */
  private needOptionalSplit(split: AudioSplit): void {
    if (!buildHasSplit(this.build, split)) throw new MissingSplitError(this.dir, split, splitFlag(split)!);
  }

  /** The text-only split's sentences, after checking its sha256 against build.json. */
  textOnly(): string[] {
    const file = path.join(this.dir, TEXT_ONLY_FILE);
    if (!existsSync(file)) throw new DataDirError(`${file} does not exist; the build is incomplete, rerun npx zipper data build with the same options`);
    const bytes = readFileSync(file);
    if (sha256Hex(bytes) !== this.build.textOnly.sha256) throw new DataDirError(`${file}: sha256 differs from build.json's textOnly.sha256; the file was modified, rebuild the data`);
    const lines = bytes.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines;
  }

  /** Absolute path of a record's WAV file. */
  audioPath(r: AudioRecordBase): string {
    return path.join(this.dir, r.path);
  }

  /** WAV bytes of a record, checked against the record's sha256. */
  audioBytes(r: AudioRecordBase): Uint8Array {
    const file = this.audioPath(r);
    if (!existsSync(file)) throw new AudioMismatchError(`${file} (record ${r.id}) does not exist; rerun npx zipper data build to restore it`);
    const bytes = readFileSync(file);
    const h = sha256Hex(bytes);
    if (h !== r.sha256) throw new AudioMismatchError(`${file}: sha256 ${h.slice(0, 12)}... differs from its record ${r.id} (${r.sha256.slice(0, 12)}...); the audio changed since the manifest was written, rerun npx zipper data build`);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Decoded audio of a record, checked against its sample rate and length. */
  audio(r: AudioRecordBase, bytes: Uint8Array = this.audioBytes(r)): WavAudio {
    const wav = readWav(bytes);
    const n = wav.channels[0]?.length ?? 0;
    if (wav.sampleRate !== r.sampleRate || n !== r.samples) {
      throw new AudioMismatchError(`${this.audioPath(r)}: ${n} samples at ${wav.sampleRate} Hz, its record ${r.id} says ${r.samples} at ${r.sampleRate} Hz; rebuild the data`);
    }
    return wav;
  }
}
