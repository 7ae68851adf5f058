// Runs `zipper ...` in-process through main() (the function bin.ts calls), capturing what it
// prints and its exit code. Test files that feed standard input mock `readStdin` of
// ../src/args.js with `stdinMock` (see errors.test.ts): vi.mock must sit in the test file.
import { vi } from 'vitest';
import { main } from '../src/main.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What the mocked `readStdin` returns: set `stdinBox.data` before a run. */
export const stdinBox: { data: Buffer } = { data: Buffer.alloc(0) };

const text = (args: unknown[]): string =>
  args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? String(a.stack) : (JSON.stringify(a) ?? String(a)))).join(' ') + '\n';

/** `zipper ...argv` in this process; stdout/stderr are captured, not printed. */
export async function runCli(argv: readonly string[], stdin: string | Buffer = ''): Promise<CliResult> {
  stdinBox.data = Buffer.isBuffer(stdin) ? stdin : Buffer.from(stdin);
  let stdout = '';
  let stderr = '';
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += text(a))),
    vi.spyOn(console, 'info').mockImplementation((...a: unknown[]) => void (stdout += text(a))),
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void (stderr += text(a))),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)),
  ];
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/** Lines of a stack trace ("    at f (file:1:2)"), which no error output may contain. */
export const STACK_LINE = /^\s+at .+/m;
