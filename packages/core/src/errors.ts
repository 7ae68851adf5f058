/**
 * Typed errors of the engine. Every message says what was wrong and what to do about it.
 * The root `ZipperError` and the generic classes live in @zipper/common (one class for every
 * package, so `instanceof` holds across them); catch `ZipperError` to catch all of them.
 */
import { ZipperError } from '@zipper/common';

export { CheckpointError, ConfigError, SafetensorsError, ShapeError, ZipperError } from '@zipper/common';

/** A token id is outside `[0, vocabSize)`. */
export class TokenRangeError extends ZipperError {}

/** A requested backend is not available on this machine. */
export class BackendError extends ZipperError {}
