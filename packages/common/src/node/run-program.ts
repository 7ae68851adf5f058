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
 *
 * Re-raising the signal ends the process before a caller's `finally` runs, so whatever the caller
 * set up for its programs (`zipper eval peer`'s temporary folder of links for pocketsphinx_batch)
 * would stay behind. `cleanupOnExit(fn)` registers a synchronous cleanup for that: it runs when
 * such a signal ends the process (before it is raised again) or on `process.exit()`, and the
 * handlers stay installed while any cleanup is registered. Register it just around the programs
 * and call the function it returns in the same `finally` that cleans up on the ordinary path.
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
const cleanups = new Set<() => void>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let handling = false;

function killRunning(signal: NodeJS.Signals): void {
  for (const child of running) child.kill(signal);
}

/** Every registered cleanup, once; one that throws does not stop the others (the process is ending). */
function runCleanups(): void {
  const all = [...cleanups];
  cleanups.clear();
  for (const fn of all)
    try {
      fn();
    } catch {
      // nothing to report to: the process is ending
    }
}

function onSignal(signal: NodeJS.Signals): void {
  killRunning(signal);
  // Others listening decide what the signal means (the process may go on: callers clean up, and
  // an exit runs the cleanups); otherwise clean up and end as the default action would.
  if (process.listenerCount(signal) > 1) return;
  removeHandlers();
  runCleanups();
  process.kill(process.pid, signal);
}

const onExit = (): void => {
  killRunning('SIGTERM');
  runCleanups();
};

/** Handlers installed exactly while a program runs or a cleanup is registered. */
function updateHandlers(): void {
  const wanted = running.size > 0 || cleanups.size > 0;
  if (wanted && !handling) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', onExit);
    handling = true;
  } else if (!wanted && handling) removeHandlers();
}

function removeHandlers(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onExit);
  handling = false;
}

/**
 * Registers `cleanup` (synchronous: e.g. `() => rmSync(tmp, { recursive: true, force: true })`) to
 * run if SIGINT, SIGTERM or SIGHUP ends this process (before the signal is raised again) or
 * `process.exit()` is called, until the returned function unregisters it. While it is registered
 * those signals are handled here (see above), as while a program runs.
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  updateHandlers();
  return () => {
    cleanups.delete(cleanup);
    updateHandlers();
  };
}

/**
 * Runs `bin` with `args` (no shell). Resolves when it has ended, with its exit code or signal and
 * its output; rejects only when it cannot be started (the spawn error: ENOENT, EACCES). Callers
 * turn a non-zero exit into their own typed error. The child ends with this process (see above).
 */
export function runProgram(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ProgramExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    updateHandlers();
    const settle = (): void => {
      running.delete(child);
      updateHandlers();
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

/** How many cleanups `cleanupOnExit` holds (for tests and diagnostics). */
export function pendingCleanups(): number {
  return cleanups.size;
}
