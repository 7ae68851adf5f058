/**
 * `zipper <command> ...` as a function: runs one command and turns every error into one line on
 * stderr and an exit code, without exiting the process (bin.ts exits; tests call this in-process).
 *
 * Exit codes: 0 success; 2 usage error (bad option, unreadable input path: `UsageError`);
 * 1 any other failure. Typed errors (`ZipperError`, which includes `UsageError`, and the
 * tokenizers' `TokenizerError`) print their message; anything else prints one line and
 * "(run with ZIPPER_DEBUG=1 for the stack)". ZIPPER_DEBUG=1 prints every error's stack.
 */
import { ZipperError } from '@zipper/core';
import { TokenizerError } from '@zipper/tokenizers';
import { fsReason } from './args.js';
import { UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';

function help(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: zipper <command> [options]',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'zipper <command> --help for its options',
  ].join('\n');
}

const debug = (): boolean => process.env['ZIPPER_DEBUG'] === '1';

/** What to print for an error (no trailing newline) and the exit code. */
export function reportError(err: unknown): { message: string; code: number } {
  const trace = debug() && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  if (err instanceof UsageError) return { message: `zipper: ${err.message}${trace}`, code: 2 };
  if (err instanceof ZipperError || err instanceof TokenizerError)
    return { message: `zipper: ${err.name}: ${err.message}${trace}`, code: 1 };
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') {
    // a file system failure nobody typed: say which call on which path
    const where = e.path ? ` ${e.path}` : '';
    return {
      message: `zipper: ${e.syscall}${where} failed: ${fsReason(e)}${trace || '\n(run with ZIPPER_DEBUG=1 for the stack)'}`,
      code: 1,
    };
  }
  const first = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split('\n')[0];
  return { message: `zipper: unexpected error: ${first}${trace || '\n(run with ZIPPER_DEBUG=1 for the stack)'}`, code: 1 };
}

/** Runs `zipper ...argv`; resolves to the exit code, never rejects. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (!name) {
      console.error(`zipper: which command?\n\n${help()}`); // a usage error: on stderr, exit 2
      return 2;
    }
    if (name === '--help' || name === '-h') {
      console.log(help());
      return 0;
    }
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) {
      console.error(`zipper: unknown command "${name}"\n\n${help()}`);
      return 2;
    }
    return await cmd.run(rest);
  } catch (err) {
    const { message, code } = reportError(err);
    console.error(message);
    return code;
  }
}
