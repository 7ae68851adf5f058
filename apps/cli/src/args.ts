/** Small typed wrappers over node:util parseArgs and file access for the subcommands. */
import { readFileSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OutputError, UsageError } from './command.js';

/**
 * `--name -1` as `--name=-1` when `--name` takes a value and the next argument is a negative
 * number. Node's parseArgs refuses a value that starts with a dash as ambiguous, so
 * `--word-bonus -1` was a usage error while `--word-bonus=-1` worked.
 */
export function joinNegativeValues(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return out.concat(argv.slice(i));
    const next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Parses options strictly; positional arguments are refused unless `positionals` is true. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
  usage: string,
  { positionals = false } = {},
) {
  let r;
  try {
    r = parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
  if (!positionals && r.positionals.length > 0)
    throw new UsageError(`unexpected argument "${r.positionals[0]}" (options start with --)\n\n${usage}`);
  return r;
}

/**
 * The one positional argument of `zipper pretrain|continue|quality text|speech`: the modality.
 * Anything else, a missing one or a second positional is a usage error.
 */
export function modalityArg(positionals: readonly string[], usage: string): 'text' | 'speech' {
  const modality = positionals[0];
  if (modality !== 'text' && modality !== 'speech')
    throw new UsageError(`first argument must be text or speech, got ${modality === undefined ? 'nothing' : `"${modality}"`}\n\n${usage}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"\n\n${usage}`);
  return modality;
}

/** An integer in [min, max] (`max` absent: no upper bound but the safe integers'). */
export function intArg(value: string | undefined, name: string, fallback: number, min = 0, max?: number): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max))
    throw new UsageError(`--${name} must be an integer ${max === undefined ? `>= ${min}` : `in [${min}, ${max}]`}, got "${value}"`);
  return n;
}

/** The largest seed: every random stream is seeded with a uint32 (@zipper/core's data config checks it too). */
export const MAX_SEED = 0xffffffff;

/** `--seed` (default 0): an integer in [0, 2^32 - 1], so no two seeds alias. */
export function seedArg(value: string | undefined): number {
  return intArg(value, 'seed', 0, 0, MAX_SEED);
}

/** An npm package name with a scope (`--name` of a checkpoint package), e.g. `@zipper/checkpoint-text-small`. */
export function packageNameArg(value: string): string {
  if (!/^@[a-z0-9-]+\/[a-z0-9.-]+$/.test(value)) throw new UsageError(`--name must be a scoped npm package name, got "${value}"`);
  return value;
}

/** A finite number in [min, max] (`max` Infinity: no upper bound). */
export function numArg(value: string | undefined, name: string, fallback: number, min = 0, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(
      `--${name} must be ${
        max !== Infinity
          ? min === -Infinity
            ? `a number <= ${max}`
            : `a number in [${min}, ${max}]`
          : min === 0
            ? 'a non-negative number'
            : min === -Infinity
              ? 'a number'
              : `a number >= ${min}`
      }, got "${value}"`,
    );
  return n;
}

/** The nucleus mass of top-p sampling (`--top-p`), in (0, 1]. */
export function topPArg(value: string | undefined, fallback = 1): number {
  const p = numArg(value, 'top-p', fallback);
  if (!(p > 0 && p <= 1)) throw new UsageError(`--top-p must be in (0, 1], got "${value}"`);
  return p;
}

/** A probability in [0, 1) (`--unit-noise`): numArg's checks, then below 1. */
export function probabilityArg(value: string | undefined, name: string, fallback = 0): number {
  const x = numArg(value, name, fallback);
  if (x >= 1) throw new UsageError(`--${name} takes a probability in [0, 1), got "${value}"`);
  return x;
}

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'path too long',
};

/** A file system error as one line: `ENOENT` -> "no such file or folder (ENOENT)". */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string') return REASONS[code] ? `${REASONS[code]} (${code})` : code;
  return (e as Error)?.message ?? String(e);
}

/** Reads an input file named by an option (`--in`, `--ids`); an unreadable path is a usage error. */
export function readInputFile(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${option} ${file}: ${fsReason(e)}`);
  }
}

/**
 * All of standard input (what `... | zipper bpe decode` reads). A non-blocking stdin (the pipe a
 * Node parent's spawn() gives its child) answers EAGAIN while the writer has not written yet, where
 * readFileSync(0) gave up: this waits 5 ms and reads on until end of input.
 */
export function readStdin(): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(1 << 16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n: number;
    try {
      n = readSync(0, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      if (code === 'EAGAIN') {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (code === 'EOF') break; // Windows: end of a pipe
      throw new UsageError(`cannot read standard input: ${fsReason(e)}; pass the input with --in FILE`);
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  return Buffer.concat(chunks);
}

/**
 * Writes an output file named by an option (`--out`). A path that cannot exist (missing folder,
 * a folder in the way, no permission) is a usage error; a failing device (disk full) an OutputError.
 */
export function writeOutputFile(file: string, data: string | Uint8Array, option: string): void {
  try {
    writeFileSync(file, data);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT')
      throw new UsageError(
        `cannot write ${option} ${file}: the folder ${path.dirname(path.resolve(file))} does not exist; create it first`,
      );
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENAMETOOLONG') {
      throw new UsageError(`cannot write ${option} ${file}: ${fsReason(e)}`);
    }
    throw new OutputError(`cannot write ${option} ${file}: ${fsReason(e)}`);
  }
}
