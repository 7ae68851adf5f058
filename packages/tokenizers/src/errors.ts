/**
 * Typed errors of @zipper/tokenizers. Every message says what was wrong and what to do.
 * Catch `TokenizerError` to catch all of them; it is a `ZipperError` (@zipper/common), the root
 * of every package's errors. (Append new classes; text and speech share this file.)
 */
import { ZipperError } from '@zipper/common';

export class TokenizerError extends ZipperError {}

/** A tokenizer.json (or tokenizer directory manifest) is malformed: the message names the field path. */
export class TokenizerFormatError extends TokenizerError {
  constructor(
    /** JSON path of the offending field, e.g. `model.merges[12]`. */
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/** A tokenizer or training config breaks an invariant (e.g. vocabSize below the byte alphabet). */
export class TokenizerConfigError extends TokenizerError {}

/** A token id passed to decode is not in `[0, vocabSize)`. */
export class TokenIdError extends TokenizerError {}

/** Base class of every WAV reading/writing problem (speech tokenizer input and output). */
export class WavError extends TokenizerError {}

/** The bytes are not a RIFF/WAVE file, or its chunks are malformed (missing `fmt `/`data`, bad sizes). */
export class WavFormatError extends WavError {}

/** The `data` chunk declares more bytes than the file holds (an interrupted copy or recording). */
export class WavTruncatedError extends WavError {}

/** The file parses but holds no audio samples. */
export class WavEmptyError extends WavError {}

/** The encoding is not linear PCM (8/16/24/32-bit) or IEEE float (32/64-bit): A-law, mu-law, ADPCM, MP3, ... */
export class WavEncodingError extends WavError {}

/** A float sample is NaN or infinite. */
export class WavSampleError extends WavError {}

/** The input is larger than the configured limit (`maxBytes`). */
export class WavTooLargeError extends WavError {}

/** Input text is not valid UTF-8 (`offset`: the first byte that breaks it). */
export class TextEncodingError extends TokenizerError {
  constructor(
    /** Byte offset of the first invalid byte. */
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** The header's sample rate is outside [MIN_WAV_SAMPLE_RATE, MAX_WAV_SAMPLE_RATE] (a damaged or hostile header). */
export class WavSampleRateError extends WavError {}

/** `decode`'s `length` (a units file's "samples") is not a sample count the units can honestly stand for. */
export class UnitLengthError extends TokenizerError {}
