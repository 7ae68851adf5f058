import { ZipperError } from '@zipper/core';

/** One `zipper <name> ...` subcommand. Each lives in its own file under commands/. */
export interface Command {
  /** First word after `zipper` (e.g. `info`, `bench`, `units`). */
  readonly name: string;
  /** One line for `zipper --help`. */
  readonly summary: string;
  /** Runs with the arguments after the name; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** A usage error (bad option, missing or unreadable input path): printed without a stack trace, exit code 2. */
export class UsageError extends ZipperError {
  override readonly name = 'UsageError';
}

/** A file the command writes could not be written (disk full, I/O error): exit code 1. */
export class OutputError extends ZipperError {}
