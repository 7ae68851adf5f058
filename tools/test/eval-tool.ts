/**
 * The set-up of a test of a tools/eval script: a temporary folder for its input files (removed after
 * the test file), a writer of one file in it, a runner of the script (exit status, stdout, stderr),
 * and the bad input every such script refuses with exit 2 (`refusesBadInput`).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect } from 'vitest';

export function evalTool(script: string): {
  file: (name: string, text: string) => string;
  run: (...args: string[]) => SpawnSyncReturns<string>;
  refusesBadInput: (badOption: readonly string[], needed?: readonly string[]) => void;
} {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `zipper-${path.basename(script, '.mjs')}-`));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = path.join(tmp, name);
    writeFileSync(f, text);
    return f;
  };
  const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });
  /**
   * Exit 2: no --hyp; the script's own `badOption` (e.g. `--bins 0`); a hypothesis file shorter than
   * the reference. `needed`: options the script requires besides --ref and --hyp (e.g. `--train F`),
   * given to every call so that each is refused for its own fault.
   */
  const refusesBadInput = (badOption: readonly string[], needed: readonly string[] = []) => {
    const ref = file('r2.txt', 'a b\nc\n');
    expect(run('--ref', ref, ...needed).status).toBe(2);
    expect(run('--ref', ref, '--hyp', ref, ...needed, ...badOption).status).toBe(2);
    const r = run('--ref', ref, '--hyp', file('short.txt', 'a b\n'), ...needed);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/has 2 lines, .*short\.txt 1/);
  };
  return { file, run, refusesBadInput };
}
