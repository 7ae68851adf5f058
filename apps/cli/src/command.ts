/** One `zipper <name> ...` subcommand. Each lives in its own file under commands/. */
export interface Command {
  /** First word after `zipper` (e.g. `info`, `bench`, `units`). */
  readonly name: string;
  /** One line for `zipper --help`. */
  readonly summary: string;
  /** Runs with the arguments after the name; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** A usage error: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
