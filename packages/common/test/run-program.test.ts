/**
 * runProgram: output and exit status collected; a program it started ends with the process that
 * started it (SIGTERM, SIGINT, process.exit), where a plain spawn() leaves it running.
 * The signal cases run a small Node program against the built `@zipper/common/node`
 * (`npm test` builds first).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningPrograms, runProgram } from '../src/node/run-program.js';

const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
const leftovers: string[] = [];
afterAll(() => {
  for (const tag of leftovers) pids(tag).forEach((p) => process.kill(p, 'SIGKILL'));
});

/** Pids of `sleep TAG` processes. */
function pids(tag: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `^sleep ${tag}$`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/**
 * Starts a Node program that runs `sleep TAG` (via runProgram, or plain spawn for the control),
 * waits until the sleep runs, then ends the parent with `end` and says how it ended.
 */
async function endParent(how: 'runProgram' | 'spawn', end: 'SIGTERM' | 'SIGINT' | 'exit') {
  const tag = `${40 + Math.floor(Math.random() * 1000)}.${process.pid}`;
  leftovers.push(tag);
  const start =
    how === 'runProgram'
      ? `const { runProgram } = await import(${JSON.stringify(dist)}); runProgram('sleep', ['${tag}']);`
      : `const { spawn } = await import('node:child_process'); spawn('sleep', ['${tag}'], { stdio: ['ignore', 'pipe', 'pipe'] });`;
  const exit = end === 'exit' ? `setTimeout(() => process.exit(0), 300);` : '';
  const parent = spawn(process.execPath, ['--input-type=module', '-e', `${start} ${exit} setInterval(() => {}, 1000);`], {
    stdio: 'ignore',
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    parent.on('exit', (code, signal) => resolve({ code, signal })),
  );
  for (let i = 0; i < 100 && pids(tag).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  const before = pids(tag).length;
  if (end !== 'exit') parent.kill(end);
  const status = await ended;
  await new Promise((r) => setTimeout(r, 300));
  return { before, after: pids(tag).length, ...status };
}

describe('runProgram', () => {
  it('collects stdout, stderr and the exit code; a missing program rejects; no handlers are left', async () => {
    const listeners = process.listenerCount('SIGTERM');
    const r = await runProgram('sh', ['-c', 'printf out; printf err >&2; exit 3']);
    expect([r.code, r.signal, r.stdout.toString(), r.stderr.toString()]).toEqual([3, null, 'out', 'err']);
    const killed = await runProgram('sh', ['-c', 'kill -TERM $$']);
    expect([killed.code, killed.signal]).toEqual([null, 'SIGTERM']);
    await expect(runProgram('/nonexistent/zipper-no-such-program', [])).rejects.toThrow(/ENOENT/);
    expect(runningPrograms()).toBe(0);
    expect(process.listenerCount('SIGTERM')).toBe(listeners);
  });

  describe('a started program ends with its parent', () => {
    beforeAll(() => {
      if (!existsSync(dist)) throw new Error(`${dist} is missing: build first (npx turbo run build --filter=@zipper/common)`);
    });
    it('SIGTERM: the child is killed and the parent still ends by SIGTERM', async () => {
      expect(await endParent('runProgram', 'SIGTERM')).toEqual({ before: 1, after: 0, code: null, signal: 'SIGTERM' });
    });
    it('SIGINT and process.exit() end it too', async () => {
      expect(await endParent('runProgram', 'SIGINT')).toEqual({ before: 1, after: 0, code: null, signal: 'SIGINT' });
      expect(await endParent('runProgram', 'exit')).toEqual({ before: 1, after: 0, code: 0, signal: null });
    });
    it('control: a plain spawn() leaves the child running after SIGTERM', async () => {
      expect(await endParent('spawn', 'SIGTERM')).toMatchObject({ before: 1, after: 1, signal: 'SIGTERM' });
    });
  });
});
