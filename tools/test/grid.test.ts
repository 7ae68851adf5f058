/**
 * tools/eval/grid.mjs on the tiny data build with tiny towers: --plan lists the 12 runs (zipper-ours-100pct
 * is the shipped model's run, option for option); --minutes 0
 * starts nothing; a run of two models trains each to its steps and writes every evaluation; a
 * second invocation finds everything done and runs nothing; bad options are exit 2.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyWordLm, saveTinyTowers, tinyData } from '../../apps/cli/test/fuse-helpers.js';

/** Runs the script without blocking the test worker (a blocking spawn starves vitest's RPC). */
async function grid(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; last: unknown }> {
  const child = spawn(process.execPath, ['tools/eval/grid.mjs', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').at(-1) || 'null';
  return { code, stdout, stderr, last: JSON.parse(last) as unknown };
}

type Summary = { runs: { name: string; trained: boolean; step: number; evals: string[] }[]; done: boolean };

let tmp: string;
let data: string;
let towers: { text: string; speech: string };
beforeAll(async () => {
  await initBackend();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'zipper-grid-'));
  data = await tinyData('zipper-grid-data-');
  towers = await saveTinyTowers(data, tmp);
  // the text tower's word LM, as a text tower package ships it (lm.safetensors), for the lexicon evaluations
  const lm = await buildTinyWordLm(data, path.join(towers.text, 'lm.safetensors'));
  if (lm.code !== 0) throw new Error(`zipper lm build failed: ${lm.stderr}`);
}, 300_000);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
});

describe('tools/eval/grid.mjs', () => {
  it('--plan: 3 fractions x 4 models, equal steps and seed, the budget at the measured rate', async () => {
    const r = await grid(['--data', data, '--out', path.join(tmp, 'plan'), '--steps', '1500', '--plan']);
    expect(r.code, r.stderr).toBe(0);
    const names = r.stdout
      .split('\n')
      .filter((l) => /^\S+\t/.test(l))
      .map((l) => l.split('\t')[0]);
    expect(names).toHaveLength(12);
    expect(names).toContain('zipper-frozen-1pct');
    expect(names).toContain('single-100pct');
    for (const cmd of r.stdout.split('\n').filter((l) => l.startsWith('  zipper '))) {
      expect(cmd).toContain('--steps 1500');
      expect(cmd).toContain('--seed 0');
      expect(cmd).toContain('--batch 8');
    }
    expect(r.last).toMatchObject({ runs: 12, zippedRuns: 9, steps: 1500 });
    expect(existsSync(path.join(tmp, 'plan'))).toBe(false);
  });

  it("--plan by default: 3,000 steps, and zipper-ours-100pct is the shipped model's run, option for option", async () => {
    const r = await grid(['--data', data, '--out', path.join(tmp, 'plan'), '--plan']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatchObject({ runs: 12, steps: 3000 });
    const lines = r.stdout.split('\n');
    const ours = lines[lines.findIndex((l) => l.startsWith('zipper-ours-100pct\t')) + 1]!.trim();
    // option -> values, towers, data and output aside (machine paths; the card writes placeholders)
    const options = (cmd: string) => {
      const words = cmd.split(/\s+/).slice(3); // zipper fuse train
      const m = new Map<string, string[]>();
      for (let i = 0; i < words.length; i++) {
        const key = words[i]!;
        expect(key.startsWith('--'), `${key} in ${cmd}`).toBe(true);
        const value = words[i + 1] !== undefined && !words[i + 1]!.startsWith('--') ? words[++i]! : '';
        if (!['--tower', '--aligned', '--out'].includes(key)) m.set(key, [...(m.get(key) ?? []), value]);
      }
      return Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    };
    const shipped = JSON.parse(readFileSync('packages/checkpoints/zipper-small/run.json', 'utf8')) as { command: string };
    expect(options(ours)).toEqual(options(shipped.command));
    expect(shipped.command).toContain('--tower text=@zipper/checkpoint-text-small --tower speech=@zipper/checkpoint-speech-small');
  });

  it('trains and evaluates the chosen runs in chunks; a second call finds them done; bad options are exit 2', async () => {
    const out = path.join(tmp, 'runs');
    const common = ['--data', data, '--out', out, '--text', towers.text, '--speech', towers.speech, '--steps', '3', '--tts-limit', '1'];
    const only = ['--only', 'zipper-ours-100pct,single-100pct'];
    const none = await grid([...common, ...only, '--minutes', '0']);
    expect(none.code, none.stderr).toBe(0);
    expect((none.last as Summary).runs.map((x) => x.trained)).toEqual([false, false]);
    expect(existsSync(path.join(out, 'single-100pct'))).toBe(false);

    const r = await grid([...common, ...only]);
    expect(r.code, r.stderr).toBe(0);
    const s = r.last as Summary;
    expect(s.done).toBe(true);
    expect(s.runs.map((x) => [x.name, x.trained, x.step])).toEqual([
      ['zipper-ours-100pct', true, 3],
      ['single-100pct', true, 3],
    ]);
    // the CTC decoders (greedy, lexicon) are evaluated only for the model with a CTC head
    expect(s.runs[0]!.evals).toEqual([
      'asr test-clean',
      'asr test-other',
      'asr-ctc test-clean',
      'asr-ctc test-other',
      'asr-lexicon test-clean',
      'asr-lexicon test-other',
      'tts test-clean',
      'asr train',
      'tts train',
    ]);
    expect(s.runs[1]!.evals).toEqual(['asr test-clean', 'asr test-other', 'tts test-clean', 'asr train', 'tts train']);
    const tts = JSON.parse(readFileSync(path.join(out, 'single-100pct', 'eval', 'test-clean', 'tts', 'metrics.json'), 'utf8')) as {
      seeds: number[];
      utterances: number;
    };
    expect(tts.seeds).toEqual([0, 1, 2]);
    const run = JSON.parse(readFileSync(path.join(out, 'zipper-ours-100pct', 'run.json'), 'utf8')) as { command: string };
    expect(run.command).toContain('--ctc-encoder-layers 2');

    const again = await grid([...common, ...only]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.last).toEqual(s);
    expect(again.stderr).not.toMatch(/grid: zipper /); // nothing ran

    const bad = await grid([...common, '--steps', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--steps must be an integer >= 1/);
  }, 600_000);
});
