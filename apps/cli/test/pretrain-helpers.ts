// Helpers of the pretrain tests: run the command in-process, read its loss log.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pretrain } from '../src/commands/pretrain.js';
import type { LossPoint } from '../src/progress/index.js';

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
  readFileSync(path.join(out, 'loss.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as LossPoint);
