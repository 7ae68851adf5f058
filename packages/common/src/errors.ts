/**
 * The one error root of Zipper. Every error a Zipper package throws on purpose is a
 * `ZipperError`, so `catch (e) { if (e instanceof ZipperError) ... }` catches all of them, in
 * every package (they all import this one class from @zipper/common). Messages say what was wrong
 * and what to do about it. Package-specific subclasses live in their packages (core: token range,
 * backend; tokenizers: TokenizerError and its WAV errors; ...).
 */
export class ZipperError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config field breaks an invariant (e.g. `dModel % nHeads !== 0`). */
export class ConfigError extends ZipperError {}

/** A tensor or array argument has the wrong rank, shape, dtype or value range. */
export class ShapeError extends ZipperError {}

/** A checkpoint or stored tensor file is missing, truncated, tampered with, or does not match the model. */
export class CheckpointError extends ZipperError {}

/**
 * A safetensors file is malformed (truncated, overlapping or out-of-range offsets, unsupported
 * dtype, bad JSON) or a tensor cannot be written as one. A `CheckpointError`, since every
 * checkpoint is stored as safetensors.
 */
export class SafetensorsError extends CheckpointError {}
