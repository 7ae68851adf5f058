// `zipper bench fuse train|generate` at a tiny size: the last stdout line is one JSON object with
// the fields of `bench train`, `ratio` is ours / the twin's (tokens/s for train, ms/token for
// generate), the twin ran the same workload (equal param counts), the frozen run trains fewer
// weights, the soak reports flat live tensors, bad options are usage errors. No timing assertions.
// The twin needs python3-torch (tools/setup/system.mjs finds the interpreter); `--workers 0`
// keeps the train runs in-process (no built packages needed).
import { initBackend } from '@zipper/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { findTorchPython } from '../../../tools/setup/system.mjs';
import { runCli } from './cli-harness.js';

// Towers: 13 content tokens (+ bos, eos), D 12, 2 layers, 2 heads; 2 links per direction; S 11, T 5.
const TINY = [
  '--vocab',
  '13',
  '--d',
  '12',
  '--layers',
  '2',
  '--heads',
  '2',
  '--cross',
  '2',
  '--speech-len',
  '11',
  '--text-len',
  '5',
  '--runs',
  '2',
];

type Json = Record<string, unknown> & { reference: Record<string, unknown> };

async function bench(argv: readonly string[]): Promise<Json> {
  const r = await runCli(['bench', 'fuse', ...argv, '--json', ...TINY]);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines.at(-1)!) as Json;
}

beforeAll(async () => {
  await initBackend();
  const py = findTorchPython();
  if (py.error) throw py.error; // the install command to run, as every test that needs torch
});

describe('zipper bench fuse', () => {
  it('train: tokens/s vs the twin, ratio = ours / twin, same param count; --freeze text trains fewer weights', async () => {
    const j = await bench(['train', '--reference', '--steps', '1', '--batch', '4', '--workers', '0']);
    expect(j['mode']).toBe('fuse-train');
    expect(j['tokens_per_step']).toBe(4 * (11 + 5 + 4));
    expect(j['links']).toBe(4);
    expect(j['workers']).toBe(0);
    expect(j['runs']).toHaveLength(2);
    expect(j['reference']['params']).toBe(j['params']);
    expect(j['reference']['runs']).toHaveLength(2);
    expect(typeof j['reference']['python']).toBe('string');
    // PyTorch's default: OpenBLAS's own thread count, at least 1 (reported, not set)
    expect(j['reference']['blas_threads']).toBeGreaterThanOrEqual(1);
    const ours = j['tokens_per_s'] as number;
    const theirs = j['reference']['tokens_per_s'] as number;
    expect(ours).toBeGreaterThan(0);
    expect(theirs).toBeGreaterThan(0);
    // ratio = ours / theirs up to the printed rounding (tokens/s to 0.1, the ratio to 0.001)
    expect(Math.abs((j['ratio'] as number) - ours / theirs)).toBeLessThanOrEqual(
      (ours / theirs) * (0.05 / theirs + 0.05 / ours) + 0.0005 + 1e-9,
    );
    expect(j['ms_per_token']).toBeCloseTo(1000 / ours, 2);
    expect(j['trainable_params']).toBe(j['params']);
    const losses = j['first_step_losses'] as Record<string, number>;
    expect(losses['text']).toBeGreaterThan(0);
    expect(losses['speech']).toBeGreaterThan(0);

    const f = await bench(['train', '--steps', '1', '--batch', '2', '--workers', '0', '--freeze', 'text']);
    expect(f['freeze']).toEqual(['text']);
    // a text tower: 15 x 12 embedding, per layer 2 norms + qkv + out + MLP, final norm
    const textTower = 15 * 12 + 2 * (2 * 12 + 12 * 36 + 12 * 12 + 12 * 48 + 48 * 12) + 12;
    expect(f['params']).toBe(j['params']);
    expect(f['trainable_params']).toBe((j['params'] as number) - textTower);
    expect(f['reference']).toBeUndefined();
  }, 300_000);

  it('--freeze-ab: both sides in one process, alternating; the frozen side trains exactly the weights outside the tower; ratios are the medians', async () => {
    const j = await bench(['train', '--freeze-ab', 'text', '--steps', '1', '--batch', '2', '--workers', '0']);
    const ab = j['freeze_ab'] as Record<string, unknown>;
    type Side = { tokens_per_s: number; cpu_ms_per_step: number; trainable_params: number; runs: number[]; cpu_runs: number[] };
    const [u, f] = [ab['unfrozen'] as Side, ab['frozen'] as Side];
    const textTower = 15 * 12 + 2 * (2 * 12 + 12 * 36 + 12 * 12 + 12 * 48 + 48 * 12) + 12;
    expect(ab['tower']).toBe('text');
    expect(u.trainable_params).toBe(ab['params']);
    expect(f.trainable_params).toBe(u.trainable_params - textTower);
    for (const x of [u, f]) {
      expect(x.runs).toHaveLength(2);
      expect(x.cpu_runs).toHaveLength(2);
      expect(x.cpu_ms_per_step).toBeGreaterThan(0);
    }
    expect(j['tokens_per_s']).toBe(u.tokens_per_s);
    // the ratios are the medians' (each rounded: tokens/s and CPU ms to 0.1, the ratio to 0.001)
    expect(Math.abs((ab['ratio_tokens_per_s'] as number) - f.tokens_per_s / u.tokens_per_s)).toBeLessThan(0.002 + 0.1 / u.tokens_per_s);
    expect(Math.abs((ab['ratio_cpu'] as number) - f.cpu_ms_per_step / u.cpu_ms_per_step)).toBeLessThan(0.002 + 0.2 / u.cpu_ms_per_step);
  }, 300_000);

  it('generate: ms/token vs the twin, ratio = ours / twin ms/token; soak: live tensors flat', async () => {
    const j = await bench(['generate', '--reference', '--tokens', '4', '--reference-threads', '1']);
    expect(j['mode']).toBe('fuse-generate');
    // --reference-threads 1 pins PyTorch's pool and OpenBLAS's GEMM threads (Debian's torch links OpenBLAS)
    expect(j['reference']['threads']).toBe(1);
    expect(j['reference']['blas_threads']).toBe(1);
    expect(j['tokens_per_run']).toBe(4);
    expect(j['reference']['params']).toBe(j['params']);
    const ours = j['ms_per_token'] as number;
    const theirs = j['reference']['ms_per_token'] as number;
    expect(ours).toBeGreaterThan(0);
    expect(theirs).toBeGreaterThan(0);
    // ratio = ours / theirs up to the printed rounding (ms/token to 0.0001, the ratio to 0.001)
    expect(Math.abs((j['ratio'] as number) - ours / theirs)).toBeLessThanOrEqual(
      (ours / theirs) * (0.00005 / theirs + 0.00005 / ours) + 0.0005 + 1e-9,
    );

    const s = (await bench(['generate', '--soak', '6', '--tokens', '3']))['soak'] as Record<string, number>;
    expect(s['calls']).toBe(6);
    expect(s['tensors_middle']).toBe(s['tensors_start']);
    expect(s['tensors_end']).toBe(s['tensors_start']);
  }, 300_000);

  it('refuses bad options with a usage error', async () => {
    const bad = async (argv: string[], message: RegExp) => {
      const r = await runCli(['bench', 'fuse', ...argv]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    };
    await bad(['train', '--freeze', 'image'], /--freeze names "image"/);
    await bad(['train', '--freeze', 'text,speech'], /freeze at most one tower/);
    await bad(['generate', '--freeze', 'text'], /--freeze applies to `bench fuse train` only/);
    await bad(['train', '--soak', '3'], /--soak applies/);
    await bad(['train', '--layers', '4', '--cross', '3'], /--cross 3 must divide --layers 4/);
    await bad(['decode'], /usage: zipper bench fuse/);
    await bad(['generate', '--freeze-ab', 'text'], /--freeze-ab applies to `bench fuse train` only/);
    await bad(['train', '--freeze-ab', 'image'], /--freeze-ab names "image"/);
    await bad(['train', '--freeze-ab', 'text', '--freeze', 'speech'], /leave out --freeze and --reference/);
  }, 60_000);
});
