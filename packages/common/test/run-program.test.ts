/**
 * runProgram: output and exit status collected; a program it started ends with the process that
 * started it (SIGTERM, SIGINT, process.exit), where a plain spawn() leaves it running.
 * cleanupOnExit: a temporary folder made for a program is removed when a signal ends the process
 * during the program (the signal is raised again before the caller's `finally` could run).
 * The signal cases run a small Node program against the built `@zipper/common/node`
 * (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleepingPids as pids } from '../../../tools/test/processes.mjs';
import { cleanupOnExit, pendingCleanups, runningPrograms, runProgram } from '../src/node/run-program.js';

const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
const leftovers: string[] = [];
const folders: string[] = [];
afterAll(() => {
  for (const tag of leftovers) pids(tag).forEach((p) => process.kill(p, 'SIGKILL'));
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

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

/**
 * Starts a Node program that makes a temporary folder, registers its removal with cleanupOnExit
 * (or not: the control), runs `sleep TAG` via runProgram, and is ended by `end` while the sleep
 * runs. Says how it ended and whether the folder and the sleep are still there.
 */
async function endWithFolder(cleanup: boolean, end: 'SIGTERM' | 'SIGINT' | 'exit') {
  const tag = `${40 + Math.floor(Math.random() * 1000)}.${process.pid}`;
  leftovers.push(tag);
  const program = [
    `const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');`,
    `const { cleanupOnExit, runProgram } = await import(${JSON.stringify(dist)});`,
    `const dir = mkdtempSync((await import('node:os')).tmpdir() + '/zipper-cleanup-test-');`,
    `writeFileSync(dir + '/file', 'x');`,
    cleanup ? `const forget = cleanupOnExit(() => rmSync(dir, { recursive: true, force: true }));` : '',
    `console.log(dir);`,
    `try { await runProgram('sleep', ['${tag}']); } finally { ${cleanup ? 'forget(); ' : ''}rmSync(dir, { recursive: true, force: true }); }`,
  ].join(' ');
  const exit = end === 'exit' ? `setTimeout(() => process.exit(0), 300);` : '';
  const parent = spawn(process.execPath, ['--input-type=module', '-e', `${exit} setInterval(() => {}, 1000); ${program}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  parent.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    parent.on('exit', (code, signal) => resolve({ code, signal })),
  );
  for (let i = 0; i < 100 && (pids(tag).length === 0 || !out.includes('\n')); i++) await new Promise((r) => setTimeout(r, 50));
  const dir = out.trim();
  folders.push(dir);
  const before = { running: pids(tag).length, folder: existsSync(dir) };
  if (end !== 'exit') parent.kill(end);
  const status = await ended;
  await new Promise((r) => setTimeout(r, 300));
  return { before, after: { running: pids(tag).length, folder: existsSync(dir) }, ...status };
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

describe('cleanupOnExit', () => {
  it('registers a cleanup (the signal handlers installed meanwhile) until the returned function unregisters it', () => {
    const listeners = process.listenerCount('SIGTERM');
    const exits = process.listenerCount('exit');
    let ran = 0;
    const forget = cleanupOnExit(() => ran++);
    expect([pendingCleanups(), process.listenerCount('SIGTERM'), process.listenerCount('exit')]).toEqual([1, listeners + 1, exits + 1]);
    forget();
    forget(); // twice is harmless
    expect([pendingCleanups(), process.listenerCount('SIGTERM'), process.listenerCount('exit'), ran]).toEqual([0, listeners, exits, 0]);
  });

  describe('a folder made for a program is removed when a signal ends the process during it', () => {
    beforeAll(() => {
      if (!existsSync(dist)) throw new Error(`${dist} is missing: build first (npx turbo run build --filter=@zipper/common)`);
    });
    it('SIGTERM: the folder is gone, the program killed, and the process still ends by SIGTERM', async () => {
      expect(await endWithFolder(true, 'SIGTERM')).toEqual({
        before: { running: 1, folder: true },
        after: { running: 0, folder: false },
        code: null,
        signal: 'SIGTERM',
      });
    });
    it('SIGINT and process.exit() remove it too', async () => {
      expect(await endWithFolder(true, 'SIGINT')).toMatchObject({ after: { running: 0, folder: false }, signal: 'SIGINT' });
      expect(await endWithFolder(true, 'exit')).toMatchObject({ after: { running: 0, folder: false }, code: 0 });
    });
    it("control: without cleanupOnExit the folder stays (the caller's finally never runs)", async () => {
      expect(await endWithFolder(false, 'SIGTERM')).toEqual({
        before: { running: 1, folder: true },
        after: { running: 0, folder: true },
        code: null,
        signal: 'SIGTERM',
      });
    });
  });
});
