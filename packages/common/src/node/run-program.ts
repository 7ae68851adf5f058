/**
 * Runs an external program (no shell) and collects its output, without leaving it behind.
 *
 * A child that writes to files rather than to its stdout pipe (pocketsphinx_batch writes its
 * hypotheses to `-hyp FILE`) does not notice its parent dying. Killing `zipper eval peer` with
 * SIGTERM left pocketsphinx_batch running on its own for 17 minutes. So every running child is
 * kept in a set; while the set is not empty, SIGINT, SIGTERM and SIGHUP are handled here: the
 * children get the same signal, then the signal is raised again with the default action restored
 * (the process ends by that signal, as it would have). If the program has handlers of its own for
 * that signal, those run too and the signal is not raised again (they decide). The handlers are
 * removed when the last child ends, so a long computation between programs keeps Node's default
 * (immediate) Ctrl-C. An ordinary `process.exit()` while children run kills them too.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How a program ended, with everything it wrote. */
export interface ProgramExit {
  /** The exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

const running = new Set<ChildProcess>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killRunning(signal: NodeJS.Signals): void {
  for (const child of running) child.kill(signal);
}

function onSignal(signal: NodeJS.Signals): void {
  killRunning(signal);
  removeHandlers();
  // Others listening decide what the signal means; otherwise end as the default action would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

const onExit = (): void => killRunning('SIGTERM');

function addHandlers(): void {
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);
}

function removeHandlers(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onExit);
}

/**
 * Runs `bin` with `args` (no shell). Resolves when it has ended, with its exit code or signal and
 * its output; rejects only when it cannot be started (the spawn error: ENOENT, EACCES). Callers
 * turn a non-zero exit into their own typed error. The child ends with this process (see above).
 */
export function runProgram(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ProgramExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (running.size === 0) addHandlers();
    running.add(child);
    const settle = (): void => {
      running.delete(child);
      if (running.size === 0) removeHandlers();
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      settle();
      reject(e);
    });
    child.on('close', (code, signal) => {
      settle();
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

/** How many programs started by `runProgram` are still running (for tests and diagnostics). */
export function runningPrograms(): number {
  return running.size;
}
