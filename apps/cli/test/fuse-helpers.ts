// Helpers of the fuse / baseline CLI tests: tiny towers saved as `zipper pretrain` outputs, the
// commands run in-process, their loss logs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors } from '@zipper/common';
import { DataDir } from '@zipper/data/node';
import { SpeechTower } from '@zipper/speech';
import { TextTower } from '@zipper/text';
import { loadSpeechTokenizer, trainBpe } from '@zipper/tokenizers';
import { buildData } from '../src/data/build.js';
import { main } from '../src/main.js';
import { defaultSpeechTokenizerDir } from '../src/pretrain/prepare.js';
import type { LossPoint } from '../src/progress/index.js';

/** The tensors of a safetensors file by key (a run's model/ or checkpoint weights, a tower's). */
export const weightsOf = (file: string) => decodeSafetensors(new Uint8Array(readFileSync(file)), file).tensors;

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** `zipper data build --size tiny --seed 0` into a new temporary directory. */
export async function tinyData(prefix: string): Promise<string> {
  const out = mkdtempSync(path.join(os.tmpdir(), prefix));
  await buildData({ out, size: 'tiny', seed: 0 });
  return out;
}

/**
 * A text tower (BPE 320 on the first 3,000 text-only sentences, d 32, 2 layers, maxSeqLen 96) and
 * a speech tower (the default 512-unit tokenizer, d 32, 2 layers, maxSeqLen 400: the tiny build's
 * longest utterance is 6.8 s = 340 units), freshly initialized (seeds 1 and 2 unless given), saved as
 * DIR/text and DIR/speech.
 */
export async function saveTinyTowers(
  data: string,
  dir: string,
  seeds: { readonly text?: number; readonly speech?: number } = {},
): Promise<{ text: string; speech: string }> {
  const lines = DataDir.open(data).textOnly().slice(0, 3000);
  const text = TextTower.create(
    trainBpe(lines, { vocabSize: 320 }),
    { dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: 96 },
    { seed: seeds.text ?? 1 },
  );
  const speech = SpeechTower.create(
    loadSpeechTokenizer(defaultSpeechTokenizerDir()),
    { dModel: 32, nLayers: 2, nHeads: 2, maxSeqLen: 400 },
    { seed: seeds.speech ?? 2 },
  );
  const out = { text: path.join(dir, 'text'), speech: path.join(dir, 'speech') };
  await text.save(out.text);
  await speech.save(out.speech);
  text.dispose();
  speech.dispose();
  return out;
}

/** Makes the tiny tower folders checkpoint packages (a package.json naming `@zipper/checkpoint-M-tiny` 0.0.1), as a release needs. */
export function publishTinyTowers(towers: { readonly text: string; readonly speech: string }): void {
  for (const [m, dir] of Object.entries(towers))
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `@zipper/checkpoint-${m}-tiny`, version: '0.0.1' }));
}

/** The tiny runs' common training options: both towers, the data build, all of its pairs, batch 4. */
export const tinyRunArgs = (towers: { readonly text: string; readonly speech: string }, data: string): string[] => [
  '--tower',
  `text=${towers.text}`,
  '--tower',
  `speech=${towers.speech}`,
  '--aligned',
  data,
  '--fraction',
  '1',
  '--batch',
  '4',
];

/** `zipper KIND train` of the tiny towers on TTS examples only (--mix 0:1), in-process, checkpoints and held-out every 2 steps, into data/OUT. */
export const tinyTtsRunArgs = (
  kind: 'fuse' | 'baseline',
  towers: { readonly text: string; readonly speech: string },
  data: string,
  out: string,
  steps: number,
): string[] => [
  ...[kind, 'train', ...tinyRunArgs(towers, data), '--out', path.join(data, out), '--steps', String(steps)],
  ...['--every', '2', '--eval-every', '2', '--mix', '0:1', '--workers', '0', '--no-progress'],
];

/** A tiny `zipper fuse train` run into `out`: 6 steps at lr 1e-2, the text tower frozen, in-process, one checkpoint at the end. */
export const trainTinyFuse = (towers: { readonly text: string; readonly speech: string }, data: string, out: string, ...more: string[]) =>
  runZipper([
    ...['fuse', 'train', ...tinyRunArgs(towers, data), '--steps', '6', '--every', '6', '--lr', '1e-2', '--freeze', 'text'],
    ...['--workers', '0', '--no-progress', '--out', out, ...more],
  ]);

/** Runs `zipper ...argv` in-process through main (the one error handler): exit code, stdout lines, stderr. */
export async function runZipper(argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (x: unknown) => void out.push(String(x));
  console.error = (x: unknown) => void err.push(`${String(x)}\n`);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: out, stderr: err.join('') };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

/** `zipper lm build --order 3 --min-count 1 --json` of a tiny data build's text-only.txt into `out` (a trigram LM, as the shipped one). */
export const buildTinyWordLm = (data: string, out: string) =>
  runZipper(['lm', 'build', '--text', path.join(data, 'text-only.txt'), '--out', out, '--order', '3', '--min-count', '1', '--json']);

/** Every file under `dir` (a report's assets folder), path relative to `dir` -> bytes, in sorted order. */
export const filesUnder = (dir: string): Map<string, Buffer> =>
  new Map(
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .sort()
      .map((f) => [f, readFileSync(path.join(dir, f))]),
  );

/** The last stdout line as JSON. */
export const summaryOf = (r: { stdout: string[] }): Record<string, unknown> =>
  JSON.parse(r.stdout[r.stdout.length - 1] ?? '{}') as Record<string, unknown>;

export const readLosses = (out: string): LossPoint[] =>
  readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as LossPoint);

/**
 * Runs `zipper ...argv` (a training run whose --out is `out`) in a child process (vite-node on
 * the sources) and SIGKILLs its whole process group once OUT/loss.jsonl holds `steps` training
 * lines. Throws, with the child's stderr, if the run exits before that (it was not killed mid-run).
 */
export async function killAfterSteps(argv: string[], out: string, steps: number): Promise<void> {
  const lines = () =>
    existsSync(path.join(out, 'loss.jsonl'))
      ? readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('"loss"')).length
      : 0;
  const child = spawn('npx', ['vite-node', '-c', 'vitest.config.ts', 'apps/cli/src/bin.ts', '--', ...argv], {
    cwd: repo,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => void (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && lines() < steps) await new Promise((r) => setTimeout(r, 5));
  if (done) throw new Error(`zipper ${argv.slice(0, 2).join(' ')} exited after ${lines()} steps, before step ${steps}:\n${stderr}`);
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}
