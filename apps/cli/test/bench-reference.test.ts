// The PyTorch reference of `zipper bench` (runReference, bench/common.ts) runs through runProgram:
// its last stdout line is the result, a failure is a UsageError with the script's last stderr
// lines, and a bench killed while the reference runs takes the reference with it (with spawnSync
// it ran on alone). The kill case runs the built CLI (apps/cli/dist/bin.js: build first) with a
// stand-in reference script that only sleeps; the interpreter is the one bench finds
// (python3-torch, as bench-fuse.test.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runningPrograms } from '@zipper/common/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../../tools/setup/system.mjs';
import { pidsMatching } from '../../../tools/test/processes.mjs';
import { UsageError } from '../src/command.js';
import { runReference } from '../src/bench/common.js';
import { repo } from './fuse-helpers.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'zipper-bench-reference-'));
});
afterAll(() => {
  for (const p of running(dir)) process.kill(p, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Pids of processes whose command line names a file in `folder`. */
const running = (folder: string): number[] => pidsMatching(folder);

/** A reference "script" run by node in place of python (runReference runs `python script ...args`). */
function script(name: string, body: string): { python: string; script: string } {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return { python: process.execPath, script: file };
}

describe('runReference', () => {
  it('parses the last stdout line; runs as a program that ends with the process; a failure names the exit code and stderr', async () => {
    const ok = script(
      'ok.mjs',
      `console.log('loading'); setTimeout(() => console.log(JSON.stringify({ tokens_per_s: 7, args: process.argv.slice(2) })), 200);`,
    );
    const pending = runReference<{ tokens_per_s: number; args: string[] }>(ok, ['train', '--d', '13']);
    await new Promise((r) => setTimeout(r, 50));
    expect(runningPrograms()).toBe(1); // the event loop runs meanwhile (spawnSync blocked it) and runProgram holds the child
    expect(await pending).toEqual({ tokens_per_s: 7, args: ['train', '--d', '13'] });
    expect(runningPrograms()).toBe(0);

    const bad = script('bad.mjs', `console.error('a\\nb\\nc\\nRuntimeError: shapes differ'); process.exit(3);`);
    await expect(runReference(bad, [])).rejects.toThrow(new UsageError('bad.mjs failed (exit 3): b | c | RuntimeError: shapes differ'));
    await expect(runReference({ python: path.join(dir, 'no-python'), script: ok.script }, [])).rejects.toThrow(
      /^ok\.mjs failed \(exit null\): spawn .*no-python ENOENT/,
    );
    await expect(runReference({ skipped: 'no torch' }, [])).rejects.toThrow('no reference to run: no torch');
  });

  it('a bench killed (SIGTERM) while its reference runs ends the reference too', async () => {
    const py = findTorchPython();
    if (py.error) throw py.error; // the install command to run, as every test that needs torch
    const bin = path.join(repo, 'apps', 'cli', 'dist', 'bin.js');
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build first (npx turbo run build --filter=@zipper/cli...)`);
    const slow = path.join(dir, 'slow_reference.py');
    writeFileSync(slow, 'import time\ntime.sleep(120)\n');
    const tiny = ['--runs', '1', '--tokens', '2', '--vocab', '13', '--d', '8', '--layers', '1', '--heads', '2', '--seq', '4'];
    const bench = spawn(process.execPath, [bin, 'bench', 'generate', '--json', '--reference', '--reference-script', slow, ...tiny], {
      stdio: 'ignore',
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => bench.on('exit', (_code, signal) => resolve(signal)));
    try {
      // the interpreter running the script: a child the bench forks shows the bench's own command
      // line (which names the script) until it execs, so matching the path alone can catch one
      const reference = () => pidsMatching(`^\\S*python\\S* ${slow}( |$)`);
      for (let i = 0; i < 1200 && reference().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(reference()).toHaveLength(1);
      bench.kill('SIGTERM');
      expect(await ended).toBe('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      expect(reference()).toEqual([]);
    } finally {
      bench.kill('SIGKILL');
    }
  }, 120_000);
});
