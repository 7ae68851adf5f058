/**
 * tools/eval/grid.mjs on the tiny data build with tiny towers: --plan lists the 12 runs (zipper-ours-100pct
 * is the shipped model's run, option for option); --minutes 0
 * starts nothing; a run of two models trains each to its steps and writes every evaluation; a
 * second invocation finds everything done and runs nothing; --reuse counts a finished run of the
 * same command as the grid's and refuses one that differs; bad options are exit 2; --records keeps
 * each finished run's record and counts a complete record done when the run folder is gone.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTinyWordLm, saveTinyTowers, tinyData } from '../../apps/cli/test/fuse-helpers.js';
import { commandOptions } from '../eval/grid.mjs';

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

type Summary = { runs: { name: string; trained: boolean; step: number; evals: string[]; record: boolean }[]; done: boolean };

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

  it("--plan by default: 3,000 steps; the shipped model's chain starts from zipper-ours-100pct's recipe over the 2,048-unit speech tower (6,000 steps at lr 0.003, CTC weight 1, noisy ASR audio too, gates held), then 1,800 steps at lr 0.001 on the clean renderings, then 1,800 on TTS examples only with unit noise and the recognition path held, then 1,800 ASR-only steps on noisy audio too with the synthesis path held, interpolated 0.75 of the way from their start", async () => {
    const r = await grid(['--data', data, '--out', path.join(tmp, 'plan'), '--plan']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.last).toMatchObject({ runs: 12, steps: 3000 });
    const lines = r.stdout.split('\n');
    const ours = lines[lines.findIndex((l) => l.startsWith('zipper-ours-100pct\t')) + 1]!.trim();
    // option -> values, towers, data and output aside (machine paths; the card writes placeholders)
    const options = (cmd: string) => commandOptions(cmd.split(/\s+/));
    const shipped = JSON.parse(readFileSync('packages/checkpoints/zipper-small/run.json', 'utf8')) as { command: string };
    expect(Object.keys(options(ours)).length).toBeGreaterThan(15);
    // the card's training block: the source run (INIT_3), then each run from the one before, then the interpolation of the last
    const card = readFileSync('packages/checkpoints/zipper-small/README.md', 'utf8');
    const chain = /## Training\n\n```sh\n([\s\S]*?)\n```/.exec(card)![1]!.split('\n');
    expect(chain).toHaveLength(5);
    expect(chain[3]).toBe(shipped.command);
    expect(chain[4]).toBe('zipper fuse interpolate --run TUNED --alpha 0.75 --out OUT');
    const source = {
      ...options(ours),
      '--steps': ['6000'],
      '--lr': ['0.003'],
      '--ctc-weight': ['1'],
      '--asr-audio': ['asr,tts,noisy'],
      '--freeze-gates': [''],
      '--eval-every': ['1000'],
    };
    const lowLr = {
      ...source,
      '--steps': ['1800'],
      '--lr': ['0.001'],
      '--asr-audio': ['asr,tts'],
      '--eval-every': ['600'],
      '--init-from': ['INIT_3'],
      '--reopen-gates': ['1'],
    };
    const { ['--asr-audio']: _a, ...lowLrNoAsr } = lowLr;
    const ttsOnly = {
      ...lowLrNoAsr,
      '--init-from': ['INIT_2'],
      '--tasks': ['tts'],
      '--unit-noise': ['0.5'],
      '--tower-lr-scale': ['0'],
      '--freeze-params': ['cross.text_from_speech.,ctc.text_from_speech.,inproj.speech.'],
    };
    const { ['--unit-noise']: _u, ...ttsOnlyNoNoise } = ttsOnly;
    const asrOnly = {
      ...ttsOnlyNoNoise,
      '--init-from': ['INIT'],
      '--tasks': ['asr'],
      '--asr-audio': ['asr,tts,noisy'],
      '--freeze-params': ['cross.speech_from_text.,inproj.text.,inproj.speech.'],
    };
    expect(chain.slice(0, 4).map(options)).toEqual([source, lowLr, ttsOnly, asrOnly]);
    expect(chain.map((cmd) => /--out (\S+)/.exec(cmd)![1])).toEqual(['INIT_3', 'INIT_2', 'INIT', 'TUNED', 'OUT']);
    for (const cmd of chain.slice(0, 4))
      expect(cmd).toContain('--tower text=@zipper/checkpoint-text-small --tower speech=@zipper/checkpoint-speech-small-2048');
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

    // --reuse: another grid counts the finished run as its own (a link), trains and evaluates nothing
    const other = path.join(tmp, 'other');
    const ours = path.join(out, 'zipper-ours-100pct');
    const reused = await grid([
      ...common.map((w) => (w === out ? other : w)),
      '--only',
      'zipper-ours-100pct',
      '--reuse',
      `zipper-ours-100pct=${ours}`,
    ]);
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stderr).not.toMatch(/grid: zipper /);
    expect(reused.last).toEqual({ runs: [s.runs[0]], done: true });
    expect(realpathSync(path.join(other, 'zipper-ours-100pct'))).toBe(realpathSync(ours));
    // ... and refuses a run of another command, or one short of --steps
    const wrong = await grid([...common, '--only', 'single-10pct', '--reuse', `single-10pct=${ours}`]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/its command differs from the grid's in --fraction \(1 vs 0\.1\), --lr \(0\.005 vs 0\.001\)/);
    const short = await grid([
      ...common.map((w) => (w === '3' ? '4' : w)),
      '--only',
      'zipper-ours-100pct',
      '--reuse',
      `zipper-ours-100pct=${ours}`,
    ]);
    expect(short.code).toBe(2);
    // the same command stopped short of its steps (a copy whose loss log ends at step 2)
    const partial = path.join(tmp, 'partial');
    cpSync(ours, partial, { recursive: true });
    const lossLog = path.join(partial, 'loss.jsonl');
    writeFileSync(
      lossLog,
      readFileSync(lossLog, 'utf8')
        .split('\n')
        .filter((l) => l && JSON.parse(l).step <= 2)
        .join('\n') + '\n',
    );
    const unfinished = await grid([
      ...common,
      '--out',
      path.join(tmp, 'third'),
      '--only',
      'zipper-ours-100pct',
      '--reuse',
      `zipper-ours-100pct=${partial}`,
    ]);
    expect(unfinished.code).toBe(2);
    expect(unfinished.stderr).toMatch(/trained to step 2 of 3 \(or no model\/\); finish it first/);
    expect(short.stderr).toMatch(/command differs from the grid's in --eval-every \(3 vs 4\), --every \(3 vs 4\), --steps \(3 vs 4\)/);

    const bad = await grid([...common, '--steps', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--steps must be an integer >= 1/);

    // --records: finished runs are recorded once; with the run folders gone (a new machine) the
    // records alone count them done; a record that lacks an evaluation gets its run trained again
    const records = path.join(tmp, 'records');
    const recorded = await grid([...common, ...only, '--records', records]);
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.stderr.match(/grid: zipper eval record /g)).toHaveLength(2);
    expect(recorded.stderr).not.toMatch(/grid: zipper (fuse|baseline) train|grid: zipper eval (asr|tts) /);
    const withRecords = { ...s, runs: s.runs.map((x) => ({ ...x, record: true })) };
    expect(recorded.last).toEqual(withRecords);
    rmSync(out, { recursive: true, force: true });
    const fromRecords = await grid([...common, ...only, '--records', records]);
    expect(fromRecords.code, fromRecords.stderr).toBe(0);
    expect(fromRecords.stderr).not.toMatch(/grid: zipper /);
    expect(fromRecords.last).toEqual(withRecords);
    expect(existsSync(path.join(out, 'single-100pct'))).toBe(false);
    rmSync(path.join(records, 'single-100pct', 'eval', 'train', 'tts', 'metrics.json'));
    const redo = await grid([...common, ...only, '--records', records]);
    expect(redo.code, redo.stderr).toBe(0);
    expect(redo.stderr).toMatch(/grid: zipper baseline train /);
    expect(redo.stderr).not.toMatch(/grid: zipper fuse train /);
    expect(redo.last).toEqual(withRecords);
    expect(existsSync(path.join(records, 'single-100pct', 'eval', 'train', 'tts', 'metrics.json'))).toBe(true);
  }, 600_000);
});
