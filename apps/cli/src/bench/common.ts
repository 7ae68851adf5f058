/**
 * What every `zipper bench` mode shares: option parsing of integers, memory readings, progress
 * on stderr, and running a PyTorch script of tools/ (found above this module, run under the
 * interpreter `findTorchPython` picks) whose last stdout line is one JSON object. The script runs
 * through `runProgram` (@zipper/common/node), so it ends with the bench: a bench killed while the
 * reference ran (with spawnSync) left the PyTorch process running on its own.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, roundTo as round } from '@zipper/common';
import { runProgram, type ProgramExit } from '@zipper/common/node';
import { findTorchPython, torchEnv } from '../../../../tools/setup/system.mjs';
import { UsageError } from '../command.js';

export const rssMb = (): number => round(process.memoryUsage().rss / 2 ** 20, 1);
export const peakRssMb = (): number => round(process.resourceUsage().maxRSS / 1024, 1);
export const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** `--key` as an integer >= min, or a UsageError quoting the usage text. */
export function intOption(values: Record<string, unknown>, key: string, usage: string, min = 1): number {
  const n = Number(values[key]);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${key} must be an integer >= ${min}, got "${String(values[key])}"\n\n${usage}`);
  return n;
}

/** The repository file `relative` (e.g. tools/bench/torch_reference.py): the first on the way up from this module (src/ or dist/). */
export function findRepositoryFile(relative: string): string | undefined {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, relative))) return path.join(dir, relative);
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** A reference script and the interpreter to run it, or why the reference is skipped. */
export interface ReferenceRunner {
  readonly script?: string;
  readonly python?: string;
  readonly skipped?: string;
}

/** Finds `script` (given, or `relative` above this module) and a python that imports torch. */
export function referenceRunner(relative: string, given: string | undefined): ReferenceRunner {
  const script = given ?? findRepositoryFile(relative);
  const found = findTorchPython();
  let skipped: string | undefined;
  if (script === undefined) skipped = `${relative} not found in any folder above this CLI (pass --reference-script PATH)`;
  else if (!existsSync(script)) skipped = `reference script not found at ${script} (pass --reference-script PATH)`;
  else skipped = found.error?.message;
  if (skipped) log(`reference skipped: ${skipped}`);
  return { ...(script ? { script } : {}), ...(found.python ? { python: found.python } : {}), ...(skipped ? { skipped } : {}) };
}

/** One run of `python script ...args` with this machine's OpenBLAS overrides removed; its last stdout line, parsed. */
export async function runReference<T>(runner: ReferenceRunner, args: readonly string[]): Promise<T> {
  if (!runner.script || !runner.python || runner.skipped)
    throw new UsageError(`no reference to run: ${runner.skipped ?? 'unknown reason'}`);
  const name = path.basename(runner.script);
  const failed = (status: string, why: string) =>
    new UsageError(`${name} failed (exit ${status}): ${why.trim().split('\n').slice(-3).join(' | ')}`);
  let r: ProgramExit;
  try {
    r = await runProgram(runner.python, [runner.script, ...args], torchEnv());
  } catch (e) {
    throw failed('null', (e as Error).message); // it did not start (spawnSync's status was null then)
  }
  if (r.code !== 0) throw failed(String(r.code ?? r.signal), r.stderr.toString('utf8'));
  const last = r.stdout.toString('utf8').trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** One reference run's speed, as the PyTorch scripts print it. */
export interface ReferenceRun {
  readonly tokens_per_s: number;
  readonly ms_per_token?: number;
  readonly threads?: number;
  /** OpenBLAS's threads in the reference's process (tools/bench/blas_threads.py), null without OpenBLAS. */
  readonly blas_threads?: number | null;
}

/**
 * The `reference` object of a bench JSON and the same-run `ratio`: medians of the reference's
 * runs, and ours over theirs (tokens/s for train, ms/token for generate). `extra` adds fields
 * such as the twin's model name and parameter count.
 */
export function referenceSummary(
  mode: 'train' | 'generate',
  runner: ReferenceRunner,
  runs: readonly ReferenceRun[],
  ours: { readonly tokensPerS: number; readonly msPerToken: number },
  name: string,
  extra: Readonly<Record<string, unknown>> = {},
): { reference: Record<string, unknown>; ratio: number; ratio_meaning: string } {
  const tps = median(runs.map((t) => t.tokens_per_s));
  const ms = median(runs.map((t) => t.ms_per_token ?? 1000 / t.tokens_per_s));
  return {
    reference: {
      engine: 'pytorch',
      ...extra,
      script: runner.script,
      python: runner.python,
      tokens_per_s: round(tps, 1),
      ms_per_token: round(ms, 4),
      threads: runs[0]!.threads,
      blas_threads: runs[0]!.blas_threads ?? null,
      median_of: runs.length,
      runs: runs.map((t) => round(mode === 'train' ? t.tokens_per_s : t.ms_per_token!, 3)),
    },
    ratio: mode === 'train' ? round(ours.tokensPerS / tps) : round(ours.msPerToken / ms),
    ratio_meaning:
      mode === 'train' ? `ours / ${name} tokens per second (higher is better)` : `ours / ${name} ms per token (lower is better)`,
  };
}
