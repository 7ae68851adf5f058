// `zipper fuse train --keep-best BY`: OUT/best holds the model of the best held-out evaluation past
// step 0 (argmin of the logged losses by BY); its run.json's command (+ --until-step STEP)
// reproduces those weights bit for bit; a run killed mid-way and resumed ends with the same
// OUT/best as an uninterrupted one; OUT/best loads like any run (--init-from it starts at its
// held-out loss); a stream the held-out set lacks is
// a usage error before anything is written.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@zipper/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuseRun } from '../src/fuse/run-file.js';
import { loadTrainedModel } from '../src/fuse/trained-model.js';
import type { LossPoint } from '../src/progress/index.js';
import { killAfterSteps, readLosses, runZipper, saveTinyTowers, tinyData, tinyRunArgs } from './fuse-helpers.js';

let data = '';
let towers = { text: '', speech: '' };
let straight = '';
type Held = Extract<LossPoint, { heldOut: number }>;
const held = (out: string) => readLosses(out).filter((p): p is Held => 'heldOut' in p);
const bestJson = (out: string) => JSON.parse(readFileSync(path.join(out, 'best', 'run.json'), 'utf8')) as FuseRun;
const weights = (out: string) => readFileSync(path.join(out, 'model', 'model.safetensors'));
const args = (out: string, by = 'speech') => [
  'fuse',
  'train',
  ...tinyRunArgs(towers, data),
  '--workers',
  '0',
  '--no-progress',
  '--freeze',
  'text',
  '--steps',
  '12',
  '--every',
  '4',
  '--eval-every',
  '2',
  '--lr',
  '3e-2',
  '--keep-best',
  by,
  '--out',
  out,
];

beforeAll(async () => {
  await initBackend();
  data = await tinyData('zipper-keep-best-test-');
  towers = await saveTinyTowers(data, data);
  straight = path.join(data, 'straight');
  const r = await runZipper(args(straight));
  expect(r.code, r.stderr).toBe(0);
}, 300_000);
afterAll(() => rmSync(data, { recursive: true, force: true }));

describe('zipper fuse train --keep-best', () => {
  it('keeps the argmin of the logged held-out losses; its command with --until-step reproduces the weights', async () => {
    const points = held(straight).filter((p) => p.step > 0);
    expect(points.map((p) => p.step)).toEqual([2, 4, 6, 8, 10, 12]);
    const argmin = points.reduce((a, b) => (b.streams!['speech']! < a.streams!['speech']! ? b : a));
    const run = JSON.parse(readFileSync(path.join(straight, 'run.json'), 'utf8')) as FuseRun;
    const best = bestJson(straight);
    expect(run.recipe.keepBest).toBe('speech');
    expect(run.command).toContain('--keep-best speech');
    expect(best.best).toEqual({
      step: argmin.step,
      by: 'speech',
      value: argmin.streams!['speech'],
      heldOut: argmin.heldOut,
      streams: argmin.streams,
    });
    expect(best.command).toBe(`${run.command} --until-step ${argmin.step}`);
    expect({ ...best, command: run.command, best: undefined }).toEqual({ ...run, best: undefined });
    // the run as of that step: its log up to the evaluation, this session's line, the plot
    const bestDir = path.join(straight, 'best');
    const all = readLosses(straight);
    expect(readLosses(bestDir)).toEqual(all.slice(0, all.findIndex((p) => 'heldOut' in p && p.step === argmin.step) + 1));
    expect(readLosses(bestDir).at(-1)).toEqual(argmin);
    const sessions = readFileSync(path.join(bestDir, 'sessions.jsonl'), 'utf8').trimEnd().split('\n');
    expect(sessions.map((l) => (JSON.parse(l) as { fromStep: number; toStep: number }).toStep)).toEqual([argmin.step]);
    expect(readFileSync(path.join(bestDir, 'loss.svg'), 'utf8')).toContain('<svg');

    // the recorded command: the same weights, bit for bit
    const again = path.join(data, 'until');
    const r = await runZipper([...args(again), '--until-step', String(argmin.step)]);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.compare(weights(again), weights(path.join(straight, 'best')))).toBe(0);
    // this seed's best is early (step 2 here), so OUT/best is not the final model
    expect(argmin.step).toBeLessThan(12);
    expect(Buffer.compare(weights(straight), weights(path.join(straight, 'best')))).not.toBe(0);

    // OUT/best is a run directory: it loads for decoding, and a warm start from it evaluates as it did
    const trained = await loadTrainedModel(path.join(straight, 'best'));
    expect(trained.run.best?.step).toBe(argmin.step);
    trained.dispose();
    const warm = path.join(data, 'warm');
    const w = await runZipper([...args(warm), '--steps', '1', '--init-from', path.join(straight, 'best')]);
    expect(w.code, w.stderr).toBe(0);
    expect(held(warm)[0]).toMatchObject({ step: 0, heldOut: argmin.heldOut, streams: argmin.streams });
  }, 300_000);

  it('a run killed mid-way and resumed ends with the same OUT/best', async () => {
    const killed = path.join(data, 'killed');
    await killAfterSteps(args(killed), killed, 7); // after the step-4 checkpoint and the step-6 evaluation
    const r = await runZipper(['fuse', 'train', '--out', killed, '--resume', '--workers', '0', '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resumed from .*step-0000000[48] \(step [48] of 12\)/);
    expect(held(killed)).toEqual(held(straight));
    expect(bestJson(killed).best).toEqual(bestJson(straight).best);
    expect(Buffer.compare(weights(path.join(killed, 'best')), weights(path.join(straight, 'best')))).toBe(0);
  }, 300_000);

  it('refuses a stream the held-out set lacks, before writing anything', async () => {
    const out = path.join(data, 'nope');
    const r = await runZipper(args(out, 'nope'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--keep-best nope: the held-out set has no stream "nope"; choose total, speech, text');
    expect(existsSync(path.join(out, 'run.json'))).toBe(false);
    const bad = await runZipper(args(out, 'Text-CTC'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--keep-best takes total');
    const resumed = await runZipper(['fuse', 'train', '--out', straight, '--resume', '--keep-best', 'text']);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('--keep-best cannot change on resume');
  }, 120_000);
});
