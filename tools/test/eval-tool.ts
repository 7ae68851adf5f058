/**
 * The set-up of a test of a tools/eval script: a temporary folder for its input files (removed after
 * the test file), a writer of one file in it, and a runner of the script (exit status, stdout, stderr).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export function evalTool(script: string): {
  file: (name: string, text: string) => string;
  run: (...args: string[]) => SpawnSyncReturns<string>;
} {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `zipper-${path.basename(script, '.mjs')}-`));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  return {
    file: (name, text) => {
      const f = path.join(tmp, name);
      writeFileSync(f, text);
      return f;
    },
    run: (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' }),
  };
}
