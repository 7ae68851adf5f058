import { ZipperError } from '@zipper/core';

/** Base class of the data builder's errors. Catch it to catch all of them. */
export class DataError extends ZipperError {}

/** A program the builder runs (flite, espeak-ng, sox, bible) is not on PATH. */
export class MissingToolError extends DataError {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
    purpose: string,
  ) {
    super(`"${tool}" not found on PATH (needed for ${purpose}); install it with: sudo apt-get install ${debianPackage}`);
  }
}

/** A text source's files are missing (e.g. /usr/share/wordnet/data.noun). */
export class MissingSourceError extends DataError {
  constructor(
    readonly source: string,
    readonly path: string,
    readonly debianPackage: string,
  ) {
    super(`text source "${source}" not found at ${path}; install it with: sudo apt-get install ${debianPackage}`);
  }
}

/** A synthesizer or sox run failed or produced unusable audio. */
export class SynthesisError extends DataError {}

/** The corpus is too small for the requested split sizes, or an output failed verification. */
export class DataBuildError extends DataError {}

/** `--fresh-dev FILE` is unreadable or gives too few usable sentences for the fresh-dev splits. */
export class FreshDevError extends DataBuildError {}
