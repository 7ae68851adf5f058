/**
 * Where a data-parallel worker's script is and how it is started: the built entry
 * (dist/worker.js or dist/worker.cjs, tsup entry `worker`), the Node flags it inherits, and a
 * warning when it is older than the sources it was built from.
 *
 * Run from the sources (vitest aliases the package to src/), Node cannot start a .ts worker, so
 * the built packages/core/dist/worker.js is used; build it with `npx turbo run build` (and
 * rebuild after changing the engine sources: the workers run the built code).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built worker script next to this module (dist/), or the package's dist/ when run from src/. */
export function workerScriptPath(): string {
  const here = fileURLToPath(import.meta.url);
  const cjs = here.endsWith('.cjs');
  const fromSource = here.endsWith('.ts');
  const file = fromSource
    ? new URL('../../dist/worker.js', import.meta.url)
    : new URL(cjs ? './worker.cjs' : './worker.js', import.meta.url);
  return fileURLToPath(file);
}

/**
 * The parent's Node flags minus those a worker rejects: a worker inherits `process.execArgv`,
 * and e.g. `node --input-type=module -e ...` made every worker crash at start ("--input-type can
 * only be used with string input"; found by tools/pack-check.mjs).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--input-type') {
      i++; // and its value
      continue;
    }
    if (a.startsWith('--input-type=')) continue;
    out.push(a);
  }
  return out;
}

let staleChecked = false;

/**
 * From the sources only: warns once when a file under src/ is newer than the built worker, whose
 * engine would then differ from the main thread's (the fix is a rebuild).
 */
export function warnIfStale(script: string): void {
  if (staleChecked || !fileURLToPath(import.meta.url).endsWith('.ts')) return;
  staleChecked = true;
  const built = statSync(script).mtimeMs;
  const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const newer = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const hit = e.isDirectory() ? newer(p) : /\.(ts|c)$/.test(e.name) && statSync(p).mtimeMs > built ? p : undefined;
      if (hit) return hit;
    }
    return undefined;
  };
  const hit = newer(src);
  if (hit)
    process.emitWarning(
      `${path.relative(src, hit)} is newer than the built data-parallel worker ${script}; the workers run the built engine: npx turbo run build`,
      'ZipperStaleWorker',
    );
}
