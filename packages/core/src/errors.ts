/**
 * Typed errors of the engine. Every message says what was wrong and what to do about it.
 * Catch `ZipperError` to catch all of them.
 */
export class ZipperError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A config field breaks an invariant (e.g. `dModel % nHeads !== 0`). */
export class ConfigError extends ZipperError {}

/** A tensor or array argument has the wrong rank, shape, dtype or value range. */
export class ShapeError extends ZipperError {}

/** A token id is outside `[0, vocabSize)`. */
export class TokenRangeError extends ZipperError {}

/** A checkpoint is missing, truncated, tampered with, or does not match the model. */
export class CheckpointError extends ZipperError {}

/** A requested backend is not available on this machine. */
export class BackendError extends ZipperError {}
