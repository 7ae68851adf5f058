/**
 * Typed errors of the data library. Every message names the file (and line, and field) and what
 * to do. Catch `DataError` to catch all of them; it is a `ZipperError`.
 */
import { ZipperError } from '@zipper/core';

/** Base class of the data library's errors. */
export class DataError extends ZipperError {}

/**
 * A manifest line is not a valid record: not JSON, a missing or mistyped field, a field that must
 * not be there (e.g. `text` in speech-only), a duplicate id. `file`, `line` (1-based) and `field`
 * say where; the message repeats them.
 */
export class ManifestError extends DataError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string | undefined,
    problem: string,
  ) {
    super(`${file}:${line}${field ? ` field "${field}"` : ''}: ${problem}; fix or rebuild the manifest (npx zipper data build --out DIR ...)`);
  }
}

/** A data directory lacks a file, or its build.json / text split is unusable. */
export class DataDirError extends DataError {}

/**
 * A build made without an optional set's flag (`--noisy`, `--tts-voice-sets`, `--dev-other`) was
 * asked for one of its splits: the message names the flag that makes it. A caller's bad choice of
 * split rather than a broken build (the CLI reports it as a usage error).
 */
export class MissingSplitError extends DataDirError {
  constructor(
    readonly dir: string,
    readonly split: string,
    readonly flag: string,
  ) {
    super(`${dir} has no ${split} split: it was built without ${flag}; run npx zipper data build again with the same options and ${flag} (only that flag's renderings are synthesized)`);
  }
}

/** An audio file does not match its manifest record (sha256, sample rate, length). */
export class AudioMismatchError extends DataError {}

/** A split, fraction or dataset option is invalid. */
export class DataConfigError extends DataError {}
