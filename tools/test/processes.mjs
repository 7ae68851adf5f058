// Test helper shared by the suites that check a killed process leaves nothing running
// (packages/common run-program, packages/eval pocketsphinx, apps/cli bench-reference).
// Plain JS with types beside it (processes.d.mts), like tools/setup/system.mjs, so that a
// package's tests can import it from outside their rootDir.
import { execFileSync } from 'node:child_process';

/** Pids of the processes whose whole command line matches `pattern` (`pgrep -f`, an extended regex). */
export function pidsMatching(pattern) {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Pids of `sleep TAG` processes: the stand-in child the signal tests start and look for. */
export function sleepingPids(tag) {
  return pidsMatching(`^sleep ${tag}$`);
}
