// A tiny data build for the tests: `zipper data build --size tiny --seed 0` into a temporary
// directory (~10 s), through the built CLI when it exists, else from the sources.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEFAULT_SPEECH_TOKENIZER = path.join(repo, 'packages/speech/assets/speech-units-default');

export function buildTinyData(prefix = 'zipper-data-test-'): string {
  const out = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dist = path.join(repo, 'apps/cli/dist/bin.js');
  const args = ['data', 'build', '--out', out, '--size', 'tiny', '--seed', '0', '--no-progress'];
  if (existsSync(dist)) execFileSync(process.execPath, [dist, ...args], { cwd: repo, stdio: 'ignore' });
  else execFileSync('npx', ['vite-node', 'apps/cli/src/bin.ts', '--', ...args], { cwd: repo, stdio: 'ignore' });
  return out;
}
