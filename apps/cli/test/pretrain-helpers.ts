// Helpers of the pretrain tests: a tiny data build, the command run in-process, its loss log.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pretrain } from '../src/commands/pretrain.js';
import { buildData } from '../src/data/build.js';
import type { LossPoint } from '../src/progress/index.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** `zipper data build --size tiny --seed 0` into a new temporary directory. */
export async function buildTinyData(prefix: string): Promise<string> {
  const out = mkdtempSync(path.join(os.tmpdir(), prefix));
  await buildData({ out, size: 'tiny', seed: 0 });
  return out;
}

/** Runs the command in-process, capturing its stdout JSON line and stderr. */
export async function runPretrain(argv: string[]): Promise<{ code: number; summary: Record<string, unknown>; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (x: unknown) => void out.push(String(x));
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await pretrain.run(argv);
    return { code, summary: JSON.parse(out[out.length - 1] ?? '{}') as Record<string, unknown>, stderr: err.join('') };
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}

export const readLosses = (out: string): LossPoint[] =>
  readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as LossPoint);
